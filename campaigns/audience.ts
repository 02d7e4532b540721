/**
 * Who a campaign is for, as data. Every filter narrows (AND); an empty filter means every active
 * customer. Whatever the filter says, only customers whose current marketing consent for the campaign's
 * channel is a grant are ever in the audience (`consentChannelOf`), and consent is checked again when
 * each message is queued.
 */
import type { ConsentChannel } from '../db/schema/identity';
import type { CampaignLanguage } from './definition';

export interface AudienceFilter {
  /** The customer's language (French for any `fr-*` tag, English for everything else). */
  languages?: CampaignLanguage[];
  /** The customer's preferred currency. */
  currencies?: string[];
  /** Member of at least one of these segments (`marketing.customer_segments`). */
  segments?: string[];
  /** Account created at or after / before these instants (ISO 8601, UTC). */
  createdAfter?: string;
  createdBefore?: string;
  /** Has at least one paid order placed at or after this instant. */
  orderedSince?: string;
  /** Has no paid order placed at or after this instant (win-back). */
  notOrderedSince?: string;
  /** At least this many paid orders. */
  minOrders?: number;
  /** At least this much spent on paid orders in this currency, in minor units. */
  minSpent?: { amount: number; currency: string };
}

/** Orders that count as bought: payment taken, whatever happened to the parcel since. */
export const paidOrderStatuses = ['PAID', 'CONFIRMED', 'SHIPPED', 'COMPLETED'] as const;

/**
 * The consent a channel needs. Identity records marketing consent for email, SMS and push; an in-app
 * marketing message is the shop's own push to the person, so it needs the `push` consent.
 */
export const consentChannelOf = { email: 'email', in_app: 'push' } as const satisfies Record<'email' | 'in_app', ConsentChannel>;

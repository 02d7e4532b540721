/**
 * Marketing consent per channel. The history of answers is the record (`identity.consent_events`): the
 * current answer is the latest event, and its time is when consent was given or withdrawn. Marketing is
 * opt-in, so a channel never answered counts as not granted. Campaigns ask `consentingAccounts`.
 */
import { consentEventRows, consentingAccountIds, insertConsentEvent, latestConsentRows } from '../db/identity/profile';
import { consentChannels, type ConsentChannel } from '../db/schema/identity';
import type { Database, Executor } from '../platform/postgres';
import { lockLiveAccount } from './profile';

export { consentChannels, type ConsentChannel };

export interface ConsentState {
  granted: boolean;
  /** When the current answer was given; null for a channel never answered. */
  changedAt: Date | null;
}

export type Consents = Record<ConsentChannel, ConsentState>;

export interface ConsentEvent {
  id: number;
  channel: ConsentChannel;
  granted: boolean;
  occurredAt: Date;
}

export async function currentConsents(db: Executor, accountId: string): Promise<Consents> {
  const latest = new Map((await latestConsentRows(db, accountId)).map((row) => [row.channel, row]));
  return Object.fromEntries(
    consentChannels.map((channel) => {
      const row = latest.get(channel);
      return [channel, row ? { granted: row.granted, changedAt: row.occurredAt } : { granted: false, changedAt: null }];
    }),
  ) as Consents;
}

/**
 * Records the person's answer for one channel. An answer equal to the current one is not a change and
 * adds nothing (a retried PUT leaves the history as it was, and `changedAt` stays the time consent was
 * actually given); a first answer is always recorded, a refusal included.
 */
export async function setConsent(db: Database, accountId: string, channel: ConsentChannel, granted: boolean): Promise<ConsentState & { changed: boolean }> {
  return db.transaction(async (tx) => {
    await lockLiveAccount(tx, accountId);
    const current = (await latestConsentRows(tx, accountId)).find((row) => row.channel === channel);
    if (current && current.granted === granted) return { granted, changedAt: current.occurredAt, changed: false };
    const event = await insertConsentEvent(tx, accountId, channel, granted);
    return { granted, changedAt: event.occurredAt, changed: true };
  });
}

/** Every answer, newest first; `before` is the id of the last event of the previous page. */
export async function consentHistory(db: Executor, accountId: string, page: { limit: number; before?: number }): Promise<{ events: ConsentEvent[]; next?: number }> {
  const rows = await consentEventRows(db, accountId, { limit: page.limit + 1, before: page.before });
  const events = rows.slice(0, page.limit).map(({ id, channel, granted, occurredAt }) => ({ id, channel, granted, occurredAt }));
  return rows.length > page.limit ? { events, next: events.at(-1)!.id } : { events };
}

/**
 * Active accounts that currently consent to marketing on `channel`, in account-id order, a page at a
 * time: pass the last id of one page as `after` to get the next (an empty page is the end).
 */
export function consentingAccounts(db: Executor, channel: ConsentChannel, page: { after?: string; limit?: number } = {}): Promise<string[]> {
  return consentingAccountIds(db, channel, { after: page.after, limit: page.limit ?? 1000 });
}

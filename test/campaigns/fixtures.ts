/** Customers with the consents and segments a campaign test needs, and the admin calls it makes. */
import { randomUUID } from 'node:crypto';
import { and, eq, like } from 'drizzle-orm';
import { assignSegment } from '../../db/promotions';
import { notificationOutbox } from '../../db/schema/notifications';
import { insertAccount } from '../../identity/accounts';
import { setConsent, type ConsentChannel } from '../../identity/consents';
import type { Config } from '../../platform/config';
import type { Database } from '../../platform/postgres';
import { json } from '../support/http';
import type { SignedIn } from '../support/identity';

export type ConsentHistory = 'granted' | 'refused' | 'never' | 'withdrawn';

/** A customer in `segment` whose marketing consent on `channel` has had the given history. */
export async function customer(db: Database, config: Config, options: { segment: string; consent: ConsentHistory; language?: string; channel?: ConsentChannel }): Promise<string> {
  const id = await insertAccount(db, config, { email: `campaign-${randomUUID()}@test.comptoir.dev`, role: 'customer', emailVerified: true, language: options.language ?? 'en-GB' });
  await assignSegment(db, id, options.segment);
  const channel = options.channel ?? 'email';
  if (options.consent === 'granted') await setConsent(db, id, channel, true);
  if (options.consent === 'refused') await setConsent(db, id, channel, false);
  if (options.consent === 'withdrawn') {
    await setConsent(db, id, channel, true);
    await setConsent(db, id, channel, false);
  }
  return id;
}

export async function customers(db: Database, config: Config, count: number, options: Parameters<typeof customer>[2]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await customer(db, config, options));
  return ids;
}

/** Segment names are per test, so a campaign's audience is the test's own customers whatever else the database holds. */
export const segmentName = (label: string) => `c-${label}-${randomUUID().slice(0, 8)}`;

export const template = (tag: string) => ({
  fr: { subject: `Offre ${tag}`, text: `Bonjour, voici l'offre ${tag}.` },
  en: { subject: `Offer ${tag}`, text: `Hello, here is offer ${tag}.` },
});

export type CampaignView = {
  id: string;
  status: string;
  paused: boolean;
  runs: number;
  scheduleId: string | null;
  progress: { sent: number; failed: number; skippedNoConsent: number; pending: number; cancelled: number; audience: number; variants: Record<'A' | 'B', { sent: number; failed: number; skippedNoConsent: number }> };
  run: null | { workflowId: string; phase: string; paused: boolean; generation: number; batches: number; sent: number; failed: number; skippedNoConsent: number; variants: Record<'A' | 'B', { sent: number; failed: number; skippedNoConsent: number }> };
  links: { self: string };
};

export function adminClient(baseUrl: () => string, who: () => SignedIn) {
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl()}${path}`, {
      method,
      headers: { ...who().headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    call,
    create: async (body: Record<string, unknown>) => json<CampaignView>(await call('POST', '/v1/admin/campaigns', body), 201),
    get: async (id: string) => json<CampaignView>(await call('GET', `/v1/admin/campaigns/${id}`), 200),
    act: (id: string, verb: 'launch' | 'pause' | 'resume' | 'cancel') => call('POST', `/v1/admin/campaigns/${id}/${verb}`),
  };
}

/** The outbox rows a campaign queued, by account. */
export async function outboxRowsOf(db: Database, campaignId: string) {
  return db
    .select({ id: notificationOutbox.id, accountId: notificationOutbox.accountId, dedupeKey: notificationOutbox.dedupeKey, template: notificationOutbox.template, channel: notificationOutbox.channel, recipientEnc: notificationOutbox.recipientEnc, payloadEnc: notificationOutbox.payloadEnc })
    .from(notificationOutbox)
    .where(and(like(notificationOutbox.dedupeKey, `campaign:${campaignId}:%`), eq(notificationOutbox.template, 'campaign')));
}

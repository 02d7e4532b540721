/**
 * The audience query against real Postgres: each filter over customers, their paid orders and their
 * preferences; consent as its latest answer per channel; who never qualifies (staff, disabled, an
 * unconfirmed address for email); and keyset paging that neither skips nor repeats anyone.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { AudienceFilter } from '../../campaigns/audience';
import { audiencePage } from '../../db/campaigns';
import { assignSegment } from '../../db/promotions';
import { accounts } from '../../db/schema/identity';
import { orderRecords, type OrderStatus } from '../../db/schema/orders';
import { insertAccount } from '../../identity/accounts';
import { setConsent } from '../../identity/consents';
import { connectPostgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';
import { segmentName } from './fixtures';

const config = testConfig('campaign-audience');
const postgres = connectPostgres(config.DATABASE_URL, { max: 4 });
const db = postgres.db;
after(() => postgres.close());

const segment = segmentName('audience');
const people: Record<string, string> = {};

async function person(name: string, options: { language?: string; currency?: string; createdAt: string; role?: 'customer' | 'support'; verified?: boolean; status?: 'active' | 'disabled'; consents?: [('email' | 'push'), boolean][] }) {
  const id = await insertAccount(db, config, { email: `${name}-${randomUUID()}@test.comptoir.dev`, role: options.role ?? 'customer', emailVerified: options.verified ?? true, language: options.language ?? null });
  await db
    .update(accounts)
    .set({ createdAt: new Date(options.createdAt), currency: options.currency ?? 'EUR', status: options.status ?? 'active' })
    .where(eq(accounts.id, id));
  await assignSegment(db, id, segment);
  for (const [channel, granted] of options.consents ?? [['email', true]]) await setConsent(db, id, channel, granted);
  people[name] = id;
}

async function order(name: string, status: OrderStatus, amount: number, placedAt: string, currency = 'EUR') {
  await db.insert(orderRecords).values({
    id: randomUUID(),
    cartId: randomUUID(),
    accountId: people[name]!,
    status,
    currency,
    subtotalAmount: amount,
    shippingAmount: 0,
    taxAmount: 0,
    totalAmount: amount,
    shippingMethod: 'standard',
    shippingCountry: 'FR',
    workflowId: `test-${randomUUID()}`,
    createdAt: new Date(placedAt),
  });
}

before(async () => {
  await person('alice', { language: 'fr-FR', createdAt: '2026-01-10T00:00:00Z' });
  await person('bob', { language: 'en-GB', createdAt: '2026-05-01T00:00:00Z' });
  await person('carol', { language: 'de-DE', currency: 'GBP', createdAt: '2026-07-01T00:00:00Z' });
  await person('erin', { language: 'en', createdAt: '2026-09-01T00:00:00Z', consents: [['email', false], ['email', true]] });
  await person('dave', { language: 'fr', createdAt: '2026-02-01T00:00:00Z', consents: [['email', true], ['email', false]] });
  await person('frank', { createdAt: '2026-02-01T00:00:00Z', status: 'disabled' });
  await person('grace', { createdAt: '2026-02-01T00:00:00Z', verified: false, consents: [['email', true], ['push', true]] });
  await person('heidi', { createdAt: '2026-02-01T00:00:00Z', consents: [['push', true]] });
  await person('staff', { createdAt: '2026-02-01T00:00:00Z', role: 'support', consents: [['email', true], ['push', true]] });
  await order('alice', 'COMPLETED', 3_000, '2026-03-01T00:00:00Z');
  await order('alice', 'PAID', 4_000, '2026-06-01T00:00:00Z');
  await order('bob', 'SHIPPED', 1_000, '2026-02-01T00:00:00Z');
  await order('bob', 'FAILED', 50_000, '2026-06-01T00:00:00Z');
  await order('carol', 'CANCELLED', 9_000, '2026-06-01T00:00:00Z');
  await order('carol', 'CONFIRMED', 2_000, '2026-06-02T00:00:00Z', 'GBP');
});

const names = (ids: string[]) => ids.map((id) => Object.entries(people).find(([, value]) => value === id)?.[0] ?? id).sort();
const audience = async (filter: AudienceFilter, channel: 'email' | 'in_app' = 'email') => names(await audiencePage(db, { segments: [segment], ...filter }, channel, { after: null, limit: 100 }));

describe('campaign audience', () => {
  test('consent is the latest answer for the channel; staff, disabled accounts and unconfirmed addresses never qualify', async () => {
    assert.deepEqual(await audience({}), ['alice', 'bob', 'carol', 'erin']);
    // In-app needs the push consent; an unconfirmed address does not matter there.
    assert.deepEqual(await audience({}, 'in_app'), ['grace', 'heidi']);
  });

  test('customer filters: language, preferred currency, creation window, segment', async () => {
    assert.deepEqual(await audience({ languages: ['fr'] }), ['alice']);
    assert.deepEqual(await audience({ languages: ['en'] }), ['bob', 'carol', 'erin']);
    assert.deepEqual(await audience({ languages: ['fr', 'en'] }), ['alice', 'bob', 'carol', 'erin']);
    assert.deepEqual(await audience({ currencies: ['GBP'] }), ['carol']);
    assert.deepEqual(await audience({ createdAfter: '2026-04-01T00:00:00Z', createdBefore: '2026-08-01T00:00:00Z' }), ['bob', 'carol']);
    assert.deepEqual(names(await audiencePage(db, { segments: [segmentName('empty')] }, 'email', { after: null, limit: 100 })), []);
  });

  test('order filters count paid orders only', async () => {
    assert.deepEqual(await audience({ orderedSince: '2026-04-01T00:00:00Z' }), ['alice', 'carol']);
    assert.deepEqual(await audience({ notOrderedSince: '2026-04-01T00:00:00Z' }), ['bob', 'erin']);
    assert.deepEqual(await audience({ minOrders: 1 }), ['alice', 'bob', 'carol']);
    assert.deepEqual(await audience({ minOrders: 2 }), ['alice']);
    assert.deepEqual(await audience({ minSpent: { amount: 7_000, currency: 'EUR' } }), ['alice']);
    assert.deepEqual(await audience({ minSpent: { amount: 7_001, currency: 'EUR' } }), []);
    assert.deepEqual(await audience({ minSpent: { amount: 1_000, currency: 'EUR' } }), ['alice', 'bob']);
    assert.deepEqual(await audience({ minSpent: { amount: 2_000, currency: 'GBP' } }), ['carol']);
    assert.deepEqual(await audience({ minOrders: 1, languages: ['en'], orderedSince: '2026-01-01T00:00:00Z' }), ['bob', 'carol']);
  });

  test('keyset pages, in account-id order, cover the audience once', async () => {
    const all = await audiencePage(db, { segments: [segment] }, 'email', { after: null, limit: 100 });
    assert.deepEqual(all, [...all].sort());
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: string[] = await audiencePage(db, { segments: [segment] }, 'email', { after, limit: 3 });
      paged.push(...page);
      if (page.length < 3) break;
      after = page.at(-1)!;
    }
    assert.deepEqual(paged, all);
  });
});

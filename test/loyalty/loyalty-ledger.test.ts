/**
 * The ledger writer against real Postgres: a retried write adds nothing, a key recorded for another
 * account is a loud conflict, and the database itself refuses an entry that would take an account below
 * zero (the accounts' constraints), leaving nothing half-written.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { createLoyaltyLedgerActivities } from '../../activities/loyalty/ledger';
import { ledgerEntriesOf, LoyaltyLedgerConflict, loyaltyAccountRow, loyaltyOverview, loyaltyStateFromLedger, loyaltyTotals } from '../../db/loyalty';
import { loyaltyLedger } from '../../db/schema/loyalty';
import { advance, deliverOrder, emptyAccount, refundOrder, reservePoints, type LoyaltyEntry } from '../../loyalty/account';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';

const config = testConfig('loyalty-ledger');
const postgres = connectPostgres(config.DATABASE_URL, { max: 3 });
const db = postgres.db;
const activities = createLoyaltyLedgerActivities({ db, logger: createLogger({ level: 'silent', name: 'test' }) });
after(() => postgres.close());

/** Drizzle wraps the driver's error: the constraint is named in its cause. */
const violates = (pattern: RegExp) => (error: unknown) => {
  const { message, cause } = error as { message: string; cause?: { message?: string } };
  assert.match(`${message} ${cause?.message ?? ''}`, pattern);
  return true;
};

const t0 = Date.parse('2026-02-01T09:00:00.000Z');
const day = 24 * 3_600_000;

/** A few entries of a real account history, as the workflow would decide them. */
function history(accountId: string) {
  const state = emptyAccount(accountId);
  const [first, second, checkout] = [randomUUID(), randomUUID(), randomUUID()];
  const entries: LoyaltyEntry[] = [
    ...deliverOrder(state, { orderId: first, amount: 60_000, currency: 'EUR', deliveredAt: new Date(t0).toISOString() }, t0).entries,
    ...advance(state, t0),
    ...deliverOrder(state, { orderId: second, amount: 20_000, currency: 'EUR', deliveredAt: new Date(t0).toISOString() }, t0 + day).entries,
    ...reservePoints(state, { orderId: checkout, points: 100, currency: 'EUR' }, t0 + day),
    ...refundOrder(state, { orderId: first, refundId: 'r1', amount: 15_000 }, t0 + 2 * day).entries,
  ];
  return { state, entries };
}

test('a retried write records each entry once and moves the totals once', async () => {
  const accountId = randomUUID();
  const { state, entries } = history(accountId);
  assert.deepEqual(entries.map((entry) => entry.kind), ['earn', 'tier', 'earn', 'reserve', 'clawback']);

  assert.deepEqual(await activities.recordLoyaltyEntries({ accountId, entries: entries.slice(0, 3) }), { recorded: 3, alreadyRecorded: 0 });
  // The retry of a call whose answer was lost, overlapping with the next batch.
  assert.deepEqual(await activities.recordLoyaltyEntries({ accountId, entries }), { recorded: 2, alreadyRecorded: 3 });
  assert.deepEqual(await activities.recordLoyaltyEntries({ accountId, entries }), { recorded: 0, alreadyRecorded: 5 });

  const totals = await loyaltyTotals(db, accountId);
  assert.deepEqual(totals, { balance: state.balance, reserved: state.reserved, debt: state.debt, entries: 5, lastSeq: 5 });
  assert.equal(state.balance, 600 + 250 - 150, 'earned at bronze, then silver ×1.25, then a quarter of the first clawed back');
  const row = await loyaltyAccountRow(db, accountId);
  assert.deepEqual([row?.balance, row?.reserved, row?.debt, row?.lastSeq, row?.tier], [totals.balance, totals.reserved, totals.debt, 5, 'silver']);

  // What the workflow would resume from if its history were lost: exactly its state.
  assert.deepEqual(await loyaltyStateFromLedger(db, accountId), state);
  assert.deepEqual(await activities.loadLoyaltyAccount({ accountId }), state);
  assert.equal(await activities.loadLoyaltyAccount({ accountId: randomUUID() }), null);
  assert.deepEqual((await ledgerEntriesOf(db, accountId)).map((entry) => entry.key), entries.map((entry) => entry.key));

  const overview = await loyaltyOverview(db, accountId, t0 + 3 * day);
  assert.equal(overview.rollingSpendEur, 45_000 + 20_000);
  assert.equal(overview.tier.name, 'silver');
  assert.deepEqual(overview.nextTier, { tier: { name: 'gold', minSpendEur: 150_000, multiplierPct: 150 }, missingEur: 85_000 });
  assert.equal(overview.expiringSoon.points, 0, 'nothing expires within 30 days');
  const nearExpiry = await loyaltyOverview(db, accountId, Date.parse('2027-01-10T00:00:00.000Z'));
  assert.deepEqual(
    nearExpiry.expiringSoon.lots.map((lot) => lot.remaining),
    [600 - 150, 250],
    'the first lot lost what the clawback took from it',
  );
  assert.equal(nearExpiry.rollingSpendEur, 45_000 + 20_000, 'spend counts from the delivery date, still inside 12 months');
});

test('a key already recorded for another account is a conflict, and nothing of the batch is written', async () => {
  const [owner, intruder] = [randomUUID(), randomUUID()];
  const { entries } = history(owner);
  await activities.recordLoyaltyEntries({ accountId: owner, entries: entries.slice(0, 1) });
  const { entries: theirs } = history(intruder);
  const clash = [{ ...theirs[0]!, key: entries[0]!.key }];
  await assert.rejects(activities.recordLoyaltyEntries({ accountId: intruder, entries: clash }), LoyaltyLedgerConflict);
  assert.equal((await loyaltyTotals(db, intruder)).entries, 0);
  // The same seq under another key (a workflow that lost its state without rebuilding) is refused too.
  await assert.rejects(activities.recordLoyaltyEntries({ accountId: owner, entries: [{ ...entries[1]!, seq: 1 }] }), violates(/loyalty_ledger_account_seq_idx/));
  assert.equal((await loyaltyTotals(db, owner)).entries, 1);
});

test('the database refuses an entry that would take a balance below zero or reserve more than is held', async () => {
  const accountId = randomUUID();
  const base = { at: new Date(t0).toISOString(), reserved: 0, debt: 0 };
  await assert.rejects(
    activities.recordLoyaltyEntries({ accountId, entries: [{ ...base, seq: 1, key: `expire:${randomUUID()}:1`, kind: 'expire', points: -5 }] }),
    violates(/loyalty_accounts_balance/),
  );
  await assert.rejects(
    activities.recordLoyaltyEntries({ accountId, entries: [{ ...base, seq: 1, key: `reserve:${randomUUID()}`, kind: 'reserve', points: 0, reserved: 10, orderId: randomUUID() }] }),
    violates(/loyalty_accounts_balance/),
  );
  // An earn that takes points, or an expiry that gives some, breaks the kinds' sign rules.
  await assert.rejects(
    activities.recordLoyaltyEntries({ accountId, entries: [{ ...base, seq: 1, key: `earn:${randomUUID()}`, kind: 'earn', points: -1 }] }),
    violates(/loyalty_ledger_signs/),
  );
  assert.equal((await db.select().from(loyaltyLedger).where(eq(loyaltyLedger.accountId, accountId))).length, 0);
  assert.equal((await loyaltyAccountRow(db, accountId))?.balance ?? 0, 0);
});

/**
 * The loyalty rules and the account's state machine, without Temporal or Postgres: the arithmetic, and
 * for every command the invariant the ledger relies on — the balance is the sum of the entries, the lots
 * hold exactly the balance, nothing goes below zero — plus a rebuild from the entries alone.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  advance,
  commitRedemption,
  deliverOrder,
  emptyAccount,
  nextDeadline,
  refundOrder,
  refuseRedemption,
  releaseRedemption,
  reservePoints,
  stateFromEntries,
  summarise,
  type LoyaltyAccountState,
  type LoyaltyEntry,
} from '../../loyalty/account';
import { addMonthsUtc, nextTierFor, pointsEarned, pointsForValue, rollingSpend, spendInEur, tierForSpend, valueOfPoints } from '../../loyalty/rules';

const day = 24 * 3_600_000;
const t0 = Date.parse('2026-01-15T10:00:00.000Z');

describe('loyalty rules', () => {
  test('1 point per whole unit paid, times the tier multiplier, rounded down', () => {
    assert.equal(pointsEarned(12_345, 'EUR', 100), 123);
    assert.equal(pointsEarned(12_345, 'EUR', 125), 153); // floor(123 × 1.25)
    assert.equal(pointsEarned(12_345, 'EUR', 150), 184); // floor(123 × 1.5)
    assert.equal(pointsEarned(99, 'EUR', 150), 0);
    assert.equal(pointsEarned(-500, 'EUR', 100), 0);
    assert.throws(() => pointsEarned(1000, 'JPY', 100), /not part of the loyalty programme/);
  });

  test('100 points are worth 1.00 of the order currency; tier spend in EUR at the reference rates', () => {
    assert.equal(valueOfPoints(250, 'EUR'), 250);
    assert.equal(valueOfPoints(250, 'GBP'), 250);
    assert.equal(pointsForValue(1999, 'USD'), 1999);
    assert.equal(spendInEur(10_000, 'EUR'), 10_000);
    assert.equal(spendInEur(10_000, 'USD'), 9_200);
    assert.equal(spendInEur(10_000, 'GBP'), 11_700);
    assert.equal(spendInEur(-10_000, 'USD'), -9_200);
  });

  test('12 calendar months in UTC, clamped to the end of a shorter month', () => {
    assert.equal(new Date(addMonthsUtc(Date.parse('2026-03-31T23:30:00Z'), 12)).toISOString(), '2027-03-31T23:30:00.000Z');
    assert.equal(new Date(addMonthsUtc(Date.parse('2028-02-29T08:00:00Z'), 12)).toISOString(), '2029-02-28T08:00:00.000Z');
    assert.equal(new Date(addMonthsUtc(Date.parse('2026-03-31T00:00:00Z'), 1)).toISOString(), '2026-04-30T00:00:00.000Z');
    assert.equal(new Date(addMonthsUtc(Date.parse('2026-01-15T00:00:00Z'), -13)).toISOString(), '2024-12-15T00:00:00.000Z');
  });

  test('tiers at 500.00 and 1,500.00 EUR of rolling spend; what is missing for the next', () => {
    assert.equal(tierForSpend(0).name, 'bronze');
    assert.equal(tierForSpend(49_999).name, 'bronze');
    assert.equal(tierForSpend(50_000).name, 'silver');
    assert.equal(tierForSpend(150_000).name, 'gold');
    assert.deepEqual(nextTierFor(49_000), { tier: { name: 'silver', minSpendEur: 50_000, multiplierPct: 125 }, missingEur: 1_000 });
    assert.equal(nextTierFor(200_000), null);
    const spendAt = Date.parse('2026-01-31T12:00:00Z');
    assert.equal(rollingSpend([{ eur: 700, atMs: spendAt }], Date.parse('2027-01-31T11:59:59Z')), 700);
    assert.equal(rollingSpend([{ eur: 700, atMs: spendAt }], Date.parse('2027-01-31T12:00:00Z')), 0);
  });
});

/** An account driven the way the workflow drives it: time first, the command, then its consequences; invariants after each step. */
function account() {
  const state = emptyAccount(randomUUID());
  const ledger: LoyaltyEntry[] = [];
  const run = (now: number, command: (state: LoyaltyAccountState) => LoyaltyEntry[]) => {
    const entries = [...advance(state, now), ...command(state), ...advance(state, now)];
    ledger.push(...entries);
    assertInvariants(state, ledger);
    return entries;
  };
  return { state, ledger, run };
}

function assertInvariants(state: LoyaltyAccountState, ledger: LoyaltyEntry[]) {
  const sum = (pick: (entry: LoyaltyEntry) => number) => ledger.reduce((total, entry) => total + pick(entry), 0);
  assert.equal(state.balance, sum((entry) => entry.points), 'balance = sum of the ledger');
  assert.equal(state.reserved, sum((entry) => entry.reserved), 'reserved = sum of the ledger');
  assert.equal(state.debt, sum((entry) => entry.debt), 'debt = sum of the ledger');
  assert.equal(state.lots.reduce((total, lot) => total + lot.remaining, 0), state.balance, 'the lots hold the balance');
  assert.ok(state.balance >= 0 && state.reserved >= 0 && state.reserved <= state.balance && state.debt >= 0);
  assert.deepEqual(ledger.map((entry) => entry.seq), ledger.map((_, index) => index + 1), 'seq 1, 2, 3… without gaps');
  assert.equal(new Set(ledger.map((entry) => entry.key)).size, ledger.length, 'keys are unique');
  // The ledger alone rebuilds the account.
  assert.deepEqual(stateFromEntries(state.accountId, ledger), state);
}

const delivered = (orderId: string, amount: number, at = t0, currency = 'EUR') => ({ orderId, amount, currency, deliveredAt: new Date(at).toISOString() });

describe('loyalty account', () => {
  test('an order earns once, into a lot that expires 12 months later', () => {
    const { state, run } = account();
    const order = randomUUID();
    const first = run(t0, (s) => deliverOrder(s, delivered(order, 12_345), t0).entries);
    assert.equal(first.length, 1);
    assert.equal(first[0]!.key, `earn:${order}`);
    assert.equal(first[0]!.points, 123);
    assert.equal(first[0]!.lot?.expiresAt, '2027-01-15T10:00:00.000Z');
    const again = deliverOrder(state, delivered(order, 12_345), t0 + 1000);
    assert.equal(again.outcome, 'duplicate');
    assert.deepEqual(again.entries, []);
    assert.equal(state.balance, 123);
    assert.equal(deliverOrder(state, { ...delivered(randomUUID(), 100), currency: 'JPY' }, t0).outcome, 'invalid');
    assert.equal(deliverOrder(state, delivered('not-an-order', 100), t0).outcome, 'invalid');
  });

  test('redeeming: refused over the available points, held, repeated identically, committed FIFO once, or released once', () => {
    const { state, run } = account();
    const [a, b] = [randomUUID(), randomUUID()];
    run(t0, (s) => deliverOrder(s, delivered(a, 10_000), t0).entries); // 100 points, lot a
    run(t0 + day, (s) => deliverOrder(s, delivered(b, 5_000), t0 + day).entries); // 50 points, lot b

    const checkout = randomUUID();
    assert.equal(refuseRedemption(state, { orderId: checkout, points: 151, currency: 'EUR' })?.reason, 'insufficient_points');
    assert.equal(refuseRedemption(state, { orderId: checkout, points: 0, currency: 'EUR' })?.field, 'points');
    assert.equal(refuseRedemption(state, { orderId: checkout, points: 1.5, currency: 'EUR' })?.reason, 'invalid_request');
    assert.equal(refuseRedemption(state, { orderId: checkout, points: 10, currency: 'JPY' })?.reason, 'unsupported_currency');
    assert.equal(refuseRedemption(state, { orderId: 'x', points: 10, currency: 'EUR' })?.field, 'orderId');

    const request = { orderId: checkout, points: 120, currency: 'EUR' };
    assert.equal(refuseRedemption(state, request), null);
    run(t0 + 2 * day, (s) => reservePoints(s, request, t0 + 2 * day));
    assert.deepEqual([state.balance, state.reserved], [150, 120]);
    assert.equal(refuseRedemption(state, request), null, 'the same request again is answered, not refused');
    assert.deepEqual(reservePoints(state, request, t0 + 2 * day), [], '…and reserves nothing more');
    assert.equal(refuseRedemption(state, { ...request, points: 100 })?.reason, 'already_reserved');
    assert.equal(refuseRedemption(state, { orderId: randomUUID(), points: 31, currency: 'EUR' })?.reason, 'insufficient_points', 'reserved points are not available');

    const committed = run(t0 + 3 * day, (s) => commitRedemption(s, checkout, t0 + 3 * day));
    assert.deepEqual(committed[0]!.lots, [{ lotId: a, points: 100 }, { lotId: b, points: 20 }], 'oldest lot first');
    assert.deepEqual(commitRedemption(state, checkout, t0 + 3 * day), [], 'commit acts once');
    assert.deepEqual(releaseRedemption(state, checkout, t0 + 3 * day, 'late'), [], 'a committed redemption is not released');
    assert.deepEqual([state.balance, state.reserved], [30, 0]);
    assert.equal(refuseRedemption(state, request)?.reason, 'redemption_closed');

    const other = randomUUID();
    run(t0 + 4 * day, (s) => reservePoints(s, { orderId: other, points: 30, currency: 'EUR' }, t0 + 4 * day));
    run(t0 + 4 * day, (s) => releaseRedemption(s, other, t0 + 4 * day, 'payment_failed'));
    assert.deepEqual(releaseRedemption(state, other, t0 + 4 * day, 'again'), [], 'release acts once');
    assert.deepEqual(commitRedemption(state, other, t0 + 4 * day), []);
    assert.deepEqual([state.balance, state.reserved], [30, 0]);

    // A release that overtook its reservation closes the order: the late reservation is refused.
    const overtaken = randomUUID();
    run(t0 + 5 * day, (s) => releaseRedemption(s, overtaken, t0 + 5 * day, 'checkout gave up'));
    assert.equal(refuseRedemption(state, { orderId: overtaken, points: 10, currency: 'EUR' })?.reason, 'redemption_closed');
  });

  test('refunds claw back what the refunded part earned, once per refund, several partial ones never more than one full', () => {
    const { state, run } = account();
    const order = randomUUID();
    run(t0, (s) => deliverOrder(s, delivered(order, 10_099), t0).entries); // 100 points
    const first = run(t0 + day, (s) => refundOrder(s, { orderId: order, refundId: 'r1', amount: 3_350 }, t0 + day).entries);
    assert.equal(first[0]!.points, -33, 'keeps floor(67.49) = 67 of its 100');
    assert.deepEqual(refundOrder(state, { orderId: order, refundId: 'r1', amount: 3_350 }, t0 + day).entries, [], 'once per refund id');
    run(t0 + day, (s) => refundOrder(s, { orderId: order, refundId: 'r2', amount: 3_350 }, t0 + day).entries);
    run(t0 + day, (s) => refundOrder(s, { orderId: order, refundId: 'r3', amount: 3_399 }, t0 + day).entries);
    assert.equal(state.balance, 0, 'everything refunded: every point gone, no rounding left over');
    assert.equal(state.orders[order]!.spendEur, 0);
    assert.equal(summarise(state, t0 + day).rollingSpendEur, 0);
  });

  test('a refund reported before the delivery is taken off the amount; one already netted changes nothing', () => {
    const { state, run } = account();
    const [early, netted] = [randomUUID(), randomUUID()];
    run(t0, (s) => refundOrder(s, { orderId: early, refundId: 'early', amount: 2_000 }, t0).entries);
    assert.equal(state.balance, 0);
    run(t0 + day, (s) => deliverOrder(s, delivered(early, 10_000), t0 + day).entries);
    assert.equal(state.balance, 80);
    run(t0 + day, (s) => deliverOrder(s, { ...delivered(netted, 8_000), refundIds: ['was-in'] }, t0 + day).entries);
    assert.equal(state.balance, 160);
    assert.equal(refundOrder(state, { orderId: netted, refundId: 'was-in', amount: 2_000 }, t0 + 2 * day).outcome, 'duplicate');
  });

  test('clawing back spent points never takes the balance below zero: the rest is a debt, repaid from the next points', () => {
    const { state, run } = account();
    const [order, checkout, next] = [randomUUID(), randomUUID(), randomUUID()];
    run(t0, (s) => deliverOrder(s, delivered(order, 10_000), t0).entries);
    run(t0, (s) => reservePoints(s, { orderId: checkout, points: 90, currency: 'EUR' }, t0));
    run(t0, (s) => commitRedemption(s, checkout, t0));
    const claw = run(t0 + day, (s) => refundOrder(s, { orderId: order, refundId: 'all', amount: 10_000 }, t0 + day).entries);
    assert.deepEqual([claw[0]!.points, claw[0]!.debt, claw[0]!.detail?.owed], [-10, 90, 100]);
    assert.deepEqual([state.balance, state.debt], [0, 90]);
    const repaid = run(t0 + 2 * day, (s) => deliverOrder(s, delivered(next, 20_000), t0 + 2 * day).entries);
    assert.deepEqual(repaid.map((entry) => [entry.kind, entry.points, entry.debt]), [['earn', 200, 0], ['debt_repaid', -90, -90]]);
    assert.deepEqual([state.balance, state.debt], [110, 0]);
  });

  test('points expire 12 months after they were earned, exactly once, but never while reserved: then on release', () => {
    const { state, run } = account();
    const [old, young, checkout] = [randomUUID(), randomUUID(), randomUUID()];
    run(t0, (s) => deliverOrder(s, delivered(old, 10_000), t0).entries);
    const later = t0 + 40 * day;
    run(later, (s) => deliverOrder(s, delivered(young, 5_000), later).entries);
    assert.equal(nextDeadline(state, later), Date.parse('2027-01-15T10:00:00.000Z'));
    run(later, (s) => reservePoints(s, { orderId: checkout, points: 120, currency: 'EUR' }, later));

    const due = Date.parse('2027-01-15T10:00:00.000Z');
    const expired = run(due, () => []);
    assert.deepEqual(expired.map((entry) => [entry.key, entry.points]), [[`expire:${old}:1`, -30]], 'only what is not reserved expires');
    assert.deepEqual(run(due + 1000, () => []), [], 'exactly once');
    assert.equal(nextDeadline(state, due + 1000), Date.parse('2027-02-24T10:00:00.000Z'), 'the next lot, not the protected one');

    const released = run(due + day, (s) => releaseRedemption(s, checkout, due + day, 'cancelled'));
    assert.deepEqual(released.map((entry) => [entry.key, entry.points]), [[`release:${checkout}`, 0], [`expire:${old}:2`, -70]]);
    assert.deepEqual([state.balance, state.lots.map((lot) => lot.id)], [50, [young]]);
  });

  test('tiers follow the rolling 12-month spend: the multiplier applies from the next order, and spend rolls out', () => {
    const { state, run } = account();
    const [big, second] = [randomUUID(), randomUUID()];
    const crossing = run(t0, (s) => deliverOrder(s, delivered(big, 60_000), t0).entries);
    assert.deepEqual(crossing.map((entry) => entry.kind), ['earn', 'tier']);
    assert.equal(crossing[0]!.points, 600, 'earned at the tier held before the order');
    assert.equal(state.tier, 'silver');
    const more = run(t0 + day, (s) => deliverOrder(s, delivered(second, 10_000, t0 + day, 'USD'), t0 + day).entries);
    assert.equal(more[0]!.points, 125, 'silver: ×1.25');
    assert.equal(summarise(state, t0 + day).rollingSpendEur, 69_200);
    assert.deepEqual(summarise(state, t0 + day).nextTier, { name: 'gold', missingEur: 80_800 });

    // A refund that takes the spend below the threshold drops the tier at once.
    const down = run(t0 + 2 * day, (s) => refundOrder(s, { orderId: big, refundId: 'half', amount: 30_000 }, t0 + 2 * day).entries);
    assert.deepEqual(down.map((entry) => entry.kind), ['clawback', 'tier']);
    assert.equal(state.tier, 'bronze');
    assert.equal(down[0]!.points, -300);
    assert.equal(down[0]!.spend?.at, new Date(t0).toISOString(), 'the refund leaves the window with its order');

    const { state: other, run: runOther } = account();
    runOther(t0, (s) => deliverOrder(s, delivered(randomUUID(), 55_000), t0).entries);
    assert.equal(other.tier, 'silver');
    const rollout = nextDeadline(other, t0 + day)!;
    assert.equal(rollout, Date.parse('2027-01-15T10:00:00.000Z'));
    const fallen = runOther(rollout, () => []);
    assert.deepEqual(fallen.map((entry) => [entry.kind, entry.detail?.tier]), [['expire', undefined], ['tier', 'bronze']]);
  });
});

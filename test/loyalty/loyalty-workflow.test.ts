/**
 * The `loyaltyAccount` workflow on Temporal's time-skipping test server, writing to the real Postgres
 * ledger: earn by signal-with-start (twice → once), redeem (refused over the balance with a clear error,
 * held, committed once, released once), clawback, tier up and back down as spend rolls out, expiry 12
 * months later (skipped time), a ledger write whose worker died after the commit, continue-as-new under
 * a stream of messages, and an account rebuilt from its ledger after its workflow was lost. After every
 * step: the workflow's balance, reserved points and debt equal the sums of the ledger and the accounts row.
 */
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { createLoyaltyLedgerActivities } from '../../activities/loyalty/ledger';
import {
  commitRedeemedPoints,
  LoyaltyRedemptionRefused,
  redeemPoints,
  releaseRedeemedPoints,
  reportOrderDelivered,
  reportOrderRefunded,
  type LoyaltyReportDeps,
} from '../../activities/loyalty/report';
import { redemptionProblem } from '../../api/loyalty/problems';
import { loyaltyAccountRow, loyaltyOverview, loyaltyStateFromLedger, loyaltyTotals } from '../../db/loyalty';
import { loyaltyLedger } from '../../db/schema/loyalty';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { searchAttributes } from '../../temporal-config/search-attributes';
import { workflowsPath } from '../../workers/runtime';
import {
  loyaltyAccountWorkflowType,
  loyaltyStateQuery,
  loyaltyWorkflowId,
  orderDeliveredSignal,
  type LoyaltyStateView,
} from '../../workflows/loyalty/definitions';
import type { loyaltyAccount } from '../../workflows/loyalty/loyaltyAccount';
import { recordHistory } from '../support/histories';
import { testConfig, waitFor } from '../support/stack';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const config = testConfig('loyalty-wf');
const postgres = connectPostgres(config.DATABASE_URL, { max: 4 });
const db = postgres.db;
const day = 24 * 3_600_000;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let deps: LoyaltyReportDeps;
/** Accounts whose next ledger write "loses its worker" right after the transaction committed. */
const flaky = new Set<string>();
let lostWrites = 0;

before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER_PATH! } } });
  // The report helpers tag accounts with CustomerId; the test server knows no attributes of its own.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.entries(searchAttributes).map(([name, type]) => [name, IndexedValueType[`INDEXED_VALUE_TYPE_${type}`]])),
  });
  const real = createLoyaltyLedgerActivities({ db, logger: createLogger({ level: 'silent', name: 'test' }) });
  const bundlePath = config.WORKFLOW_BUNDLE_PATH;
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.taskQueues.loyalty,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath }),
    activities: {
      ...real,
      async recordLoyaltyEntries(input: Parameters<typeof real.recordLoyaltyEntries>[0]) {
        const result = await real.recordLoyaltyEntries(input);
        if (flaky.delete(input.accountId)) {
          lostWrites++;
          throw new Error('worker lost after the write committed');
        }
        return result;
      },
    },
    plugins: [new OpenTelemetryPlugin({ resource: new Resource({}), spanProcessor: new NoopSpanProcessor() })],
  });
  running = worker.run();
  deps = { client: env.client, config };
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await postgres.close();
});

const handleOf = (accountId: string): WorkflowHandle<typeof loyaltyAccount> => env.client.workflow.getHandle(loyaltyWorkflowId(config.TASK_QUEUE_PREFIX, accountId));

/** Waits until the account has decided what `ready` expects and written all of it to the ledger. */
async function settled(accountId: string, ready: (view: LoyaltyStateView) => boolean = () => true): Promise<LoyaltyStateView> {
  return waitFor(
    async () => {
      // A query can meet a run handing over to the next: ask again.
      const view = await handleOf(accountId).query(loyaltyStateQuery).catch(() => undefined);
      return view && view.pendingWrites === 0 && view.writtenSeq === view.seq && ready(view) ? view : undefined;
    },
    { what: `loyalty account ${accountId} to settle`, timeoutMs: 30_000 },
  );
}

/** The invariant: the workflow's counters = the sums of the ledger = the accounts row; the ledger alone rebuilds the same balance. */
async function assertBalanced(accountId: string, view: LoyaltyStateView): Promise<void> {
  const totals = await loyaltyTotals(db, accountId);
  assert.deepEqual({ balance: totals.balance, reserved: totals.reserved, debt: totals.debt, lastSeq: totals.lastSeq }, { balance: view.balance, reserved: view.reserved, debt: view.debt, lastSeq: view.seq });
  assert.equal(totals.entries, totals.lastSeq, 'one row per seq, no gaps');
  const row = await loyaltyAccountRow(db, accountId);
  assert.deepEqual([row?.balance, row?.reserved, row?.debt, row?.tier], [totals.balance, totals.reserved, totals.debt, view.tier]);
  const rebuilt = await loyaltyStateFromLedger(db, accountId);
  assert.deepEqual([rebuilt?.balance, rebuilt?.lots.map((lot) => [lot.id, lot.remaining])], [view.balance, view.lots.map((lot) => [lot.id, lot.remaining])]);
}

async function rows(accountId: string, kind?: string) {
  return db
    .select()
    .from(loyaltyLedger)
    .where(and(eq(loyaltyLedger.accountId, accountId), kind ? eq(loyaltyLedger.kind, kind as 'earn') : undefined))
    .orderBy(loyaltyLedger.seq);
}

const nowIso = async () => new Date(await env.currentTimeMs()).toISOString();

describe('one customer, a year of loyalty', () => {
  const accountId = randomUUID();
  const [first, second, checkout, cancelled, big] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];

  test('a delivered order earns by signal-with-start, once however many times it is reported', async () => {
    const delivered = { accountId, orderId: first, amount: 12_345, currency: 'EUR', deliveredAt: await nowIso() };
    await reportOrderDelivered(deps, delivered);
    await Promise.all([reportOrderDelivered(deps, delivered), reportOrderDelivered(deps, delivered)]);
    const view = await settled(accountId, (state) => state.balance > 0);
    // The duplicates reach the workflow after the first: let them be handled before counting.
    await reportOrderDelivered(deps, delivered);
    const after = await settled(accountId);
    assert.equal(after.balance, 123, '1 point per whole euro at bronze');
    assert.equal(after.seq, view.seq, 'the repeats added nothing');
    assert.equal((await rows(accountId, 'earn')).length, 1);
    const started = await handleOf(accountId).describe();
    assert.equal(started.type, loyaltyAccountWorkflowType);
    await assertBalanced(accountId, after);
  });

  test('redeeming more than available is refused with a clear error; a reservation is in the ledger when it answers', async () => {
    await assert.rejects(redeemPoints(deps, { accountId, orderId: checkout, points: 124, currency: 'EUR' }), (error: unknown) => {
      assert.ok(error instanceof LoyaltyRedemptionRefused);
      assert.deepEqual(
        { reason: error.refusal.reason, requested: error.refusal.requested, available: error.refusal.available, field: error.refusal.field },
        { reason: 'insufficient_points', requested: 124, available: 123, field: 'points' },
      );
      assert.equal(error.message, '124 points requested, 123 available');
      const problem = redemptionProblem(error.refusal, 'loyaltyPoints');
      assert.deepEqual([problem.status, problem.slug, problem.errors?.[0]?.field], [422, 'insufficient-points', 'loyaltyPoints']);
      return true;
    });
    await assert.rejects(redeemPoints(deps, { accountId: randomUUID(), orderId: checkout, points: 1, currency: 'EUR' }), (error: unknown) => {
      assert.ok(error instanceof LoyaltyRedemptionRefused);
      assert.equal(error.refusal.available, 0, 'a customer without an account has nothing to redeem');
      return true;
    });
    await assert.rejects(redeemPoints(deps, { accountId, orderId: checkout, points: -5, currency: 'EUR' }), /points/, 'bad input is refused before Temporal');

    const held = await redeemPoints(deps, { accountId, orderId: checkout, points: 100, currency: 'EUR' });
    assert.deepEqual(held, { orderId: checkout, points: 100, value: { amount: 100, currency: 'EUR' }, available: 23 });
    assert.equal((await rows(accountId, 'reserve')).length, 1, 'written before the answer');
    assert.deepEqual(await redeemPoints(deps, { accountId, orderId: checkout, points: 100, currency: 'EUR' }), held, 'a retried call gets the same reservation');
    await assert.rejects(redeemPoints(deps, { accountId, orderId: checkout, points: 50, currency: 'EUR' }), (error: unknown) => {
      assert.ok(error instanceof LoyaltyRedemptionRefused);
      assert.equal(error.refusal.reason, 'already_reserved');
      assert.equal(redemptionProblem(error.refusal).status, 409);
      return true;
    });
    const view = await settled(accountId);
    assert.deepEqual([view.balance, view.reserved, view.available], [123, 100, 23]);
    assert.equal((await rows(accountId, 'reserve')).length, 1);
    await assertBalanced(accountId, view);
  });

  test('commit spends once; release gives back once; neither touches the other', async () => {
    await commitRedeemedPoints(deps, { accountId, orderId: checkout });
    await commitRedeemedPoints(deps, { accountId, orderId: checkout });
    await releaseRedeemedPoints(deps, { accountId, orderId: checkout, reason: 'too late' });
    let view = await settled(accountId, (state) => state.reserved === 0);
    assert.deepEqual([view.balance, view.reserved], [23, 0]);
    await assertBalanced(accountId, view);

    await redeemPoints(deps, { accountId, orderId: cancelled, points: 20, currency: 'EUR' });
    await releaseRedeemedPoints(deps, { accountId, orderId: cancelled, reason: 'payment_failed' });
    await releaseRedeemedPoints(deps, { accountId, orderId: cancelled, reason: 'payment_failed' });
    await commitRedeemedPoints(deps, { accountId, orderId: cancelled });
    view = await settled(accountId, (state) => state.reserved === 0 && state.openRedemptions.length === 0);
    assert.deepEqual([view.balance, view.reserved], [23, 0]);
    assert.deepEqual((await rows(accountId)).filter((row) => ['commit', 'release'].includes(row.kind)).map((row) => [row.kind, row.orderId, row.points]), [
      ['commit', checkout, -100],
      ['release', cancelled, 0],
    ]);
    await assertBalanced(accountId, view);
  });

  test('spend crossing 500 EUR moves the account to silver; the next order earns ×1.25; a refund claws back its part once', async () => {
    await reportOrderDelivered(deps, { accountId, orderId: big, amount: 50_000, currency: 'EUR', deliveredAt: await nowIso() });
    let view = await settled(accountId, (state) => state.tier === 'silver');
    assert.equal(view.balance, 23 + 500, 'the crossing order itself earns at bronze');
    assert.equal((await rows(accountId, 'tier')).at(-1)?.detail?.tier, 'silver');
    await assertBalanced(accountId, view);

    await reportOrderDelivered(deps, { accountId, orderId: second, amount: 8_000, currency: 'EUR', deliveredAt: await nowIso() });
    view = await settled(accountId, (state) => state.balance === 523 + 100);
    assert.equal((await rows(accountId, 'earn')).at(-1)?.points, 100, 'floor(80 × 1.25)');
    await assertBalanced(accountId, view);

    await reportOrderRefunded(deps, { accountId, orderId: second, refundId: 'ret-1', amount: 4_000 });
    await reportOrderRefunded(deps, { accountId, orderId: second, refundId: 'ret-1', amount: 4_000 });
    view = await settled(accountId, (state) => state.balance === 623 - 50);
    assert.equal((await rows(accountId, 'clawback')).length, 1);
    assert.equal(view.rollingSpendEur, 12_345 + 50_000 + 4_000);
    assert.equal(view.tier, 'silver');
    await assertBalanced(accountId, view);
  });

  test('a ledger write whose worker died after the commit is retried and changes nothing twice', async () => {
    flaky.add(accountId);
    const before = lostWrites;
    const order = randomUUID();
    await reportOrderDelivered(deps, { accountId, orderId: order, amount: 1_000, currency: 'EUR', deliveredAt: await nowIso() });
    const view = await settled(accountId, (state) => state.lots.some((lot) => lot.id === order));
    assert.equal(lostWrites, before + 1, 'the first attempt wrote, then failed');
    assert.equal((await rows(accountId)).filter((row) => row.orderId === order).length, 1);
    assert.equal(view.balance, 573 + 12);
    await assertBalanced(accountId, view);
  });

  test('12 months later (skipped time) the points expire once, lot by lot, and the tier falls back as the spend rolls out', async () => {
    const before = await settled(accountId);
    const startMs = await env.currentTimeMs();
    const soon = await loyaltyOverview(db, accountId, startMs + 340 * day);
    assert.equal(soon.expiringSoon.points, before.balance, 'every point left expires within 30 days of then');

    await env.sleep('367 days');
    const view = await settled(accountId, (state) => state.balance === 0 && state.tier === 'bronze');
    const expired = await rows(accountId, 'expire');
    assert.deepEqual(expired.map((row) => row.idempotencyKey).sort(), before.lots.map((lot) => `expire:${lot.id}:1`).sort(), 'one expiry per lot, keyed by the lot');
    assert.equal(-expired.reduce((sum, row) => sum + row.points, 0), before.balance);
    assert.deepEqual((await rows(accountId, 'tier')).map((row) => row.detail?.tier), ['silver', 'bronze']);
    assert.equal(view.rollingSpendEur, 0);
    assert.equal(view.nextDeadline, null, 'nothing left for time to do: no timer');
    await assertBalanced(accountId, view);
    const overview = await loyaltyOverview(db, accountId, await env.currentTimeMs());
    assert.deepEqual([overview.balance, overview.tier.name, overview.rollingSpendEur], [0, 'bronze', 0]);

    // Earned − spent − expired − clawed back = balance, from the ledger's own rows.
    const all = await rows(accountId);
    const sum = (kind: string) => all.filter((row) => row.kind === kind).reduce((total, row) => total + row.points, 0);
    assert.equal(sum('earn') + sum('commit') + sum('expire') + sum('clawback') + sum('debt_repaid'), 0);
    await recordHistory(env.client, loyaltyWorkflowId(config.TASK_QUEUE_PREFIX, accountId), 'loyaltyAccount-year');
  });

  test('an account whose workflow was lost resumes from its ledger, numbering on', async () => {
    const handle = handleOf(accountId);
    const lostAt = await settled(accountId);
    await handle.terminate('lost by ops');
    const order = randomUUID();
    await reportOrderDelivered(deps, { accountId, orderId: order, amount: 20_000, currency: 'EUR', deliveredAt: await nowIso() });
    const view = await settled(accountId, (state) => state.balance === 200);
    assert.equal(view.seq, lostAt.seq + 1, 'the new run numbers on from the ledger');
    assert.deepEqual((await rows(accountId, 'earn')).filter((row) => row.orderId === first).length, 1);
    await reportOrderDelivered(deps, { accountId, orderId: first, amount: 12_345, currency: 'EUR', deliveredAt: await nowIso() });
    assert.equal((await settled(accountId)).balance, 200, 'an order earned before the loss is still known');
    await assertBalanced(accountId, await settled(accountId));
  });
});

test('continue-as-new keeps the account and loses no message sent around the hand-over', async () => {
  const accountId = randomUUID();
  const workflowId = loyaltyWorkflowId(config.TASK_QUEUE_PREFIX, accountId);
  const orders = Array.from({ length: 30 }, () => randomUUID());
  const deliveredAt = await nowIso();
  const event = (orderId: string) => ({ orderId, amount: 1_000, currency: 'EUR', deliveredAt });
  // A short run so the hand-over happens several times while messages keep coming.
  const started = await env.client.workflow.signalWithStart(loyaltyAccountWorkflowType, {
    workflowId,
    taskQueue: config.taskQueues.loyalty,
    args: [{ accountId, settings: { historyEventsPerRun: 20 } }],
    signal: orderDeliveredSignal,
    signalArgs: [event(orders[0]!)],
  });
  const firstRunId = started.signaledRunId;
  const redemptions: Promise<unknown>[] = [];
  const echoes: Promise<void>[] = [];
  for (const [index, orderId] of orders.entries()) {
    // Sent without waiting for the account (and each twice), in groups: a group starts as soon as the
    // previous one is in the ledger, which is when a run that has grown long hands over to the next.
    echoes.push(env.client.workflow.getHandle(workflowId).signal(orderDeliveredSignal, event(orderId)));
    echoes.push(env.client.workflow.getHandle(workflowId).signal(orderDeliveredSignal, event(orderId)));
    if (index === 10 || index === 20) redemptions.push(redeemPoints(deps, { accountId, orderId: randomUUID(), points: 5, currency: 'EUR' }));
    if (index % 5 === 4) await waitFor(async () => (await rows(accountId, 'earn')).length === index + 1, { what: `orders up to ${index} earned` });
  }
  await Promise.all(echoes);
  const held = await Promise.all(redemptions);
  assert.equal(held.length, 2);
  const view = await settled(accountId, (state) => state.balance === 300 && state.reserved === 10);
  assert.ok(view.runs >= 3, `ran ${view.runs} runs`);
  assert.notEqual((await env.client.workflow.getHandle(workflowId).describe()).runId, firstRunId);
  assert.equal((await rows(accountId, 'earn')).length, 30, 'every order earned once');
  assert.equal((await rows(accountId, 'reserve')).length, 2);
  await assertBalanced(accountId, view);
  // The run the account continues in still takes news about orders from before the hand-over.
  await reportOrderRefunded(deps, { accountId, orderId: orders[0]!, refundId: 'after-hand-over', amount: 1_000 });
  await assertBalanced(accountId, await settled(accountId, (state) => state.balance === 290));
  // The run that took the refund, itself started by a hand-over: the history replayed for the resumed path.
  let runId = (await env.client.workflow.getHandle(workflowId).describe()).runId;
  for (;;) {
    const events = (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const resumedFrom = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    assert.ok(resumedFrom, 'a run continued from another');
    if (events.some((each) => each.workflowExecutionSignaledEventAttributes)) break;
    runId = resumedFrom;
  }
  await recordHistory(env.client, workflowId, 'loyaltyAccount-continued', runId);
});

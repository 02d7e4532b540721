/**
 * The `payment` workflow against a real Temporal server, a real payments worker and the real sandbox
 * provider process; 3-D Secure confirmations arrive through the real webhook route. Started directly
 * with the client and without a parent, so outcomes are read from the `paymentState` query, the
 * workflow's result, the provider's own books (its test inspection routes) and our ledger.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { eq, inArray } from 'drizzle-orm';
import { createPaymentActivities } from '../../activities/payments/payments';
import { paymentProviderFrom } from '../../activities/payments/index';
import { ledgerBalance, ledgerOf, ledgerTotals, paymentOf } from '../../db/payments';
import { refunds as refundsTable } from '../../db/schema/payments';
import { webhookInbox } from '../../db/schema/ops';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { createPaymentsWorker } from '../../workers/queues/payments';
import { createWorkerContext, type WorkerContext } from '../../workers/runtime';
import {
  cancelPaymentSignal,
  capturePaymentSignal,
  paymentStateQuery,
  paymentWorkflowId,
  paymentWorkflowType,
  providerEventSignal,
  refundPaymentUpdate,
  type PaymentOutcome,
  type PaymentState,
  type PaymentWorkflowInput,
} from '../../workflows/payments/definitions';
import { recordHistory } from '../support/histories';
import { startSandboxProvider, testCards, type SandboxPayment, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, testConfig, waitFor } from '../support/stack';

const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
const silent = createLogger({ level: 'silent', name: 'payment-workflow-test' });

/** A payments worker in this process (test/support/stack.ts's startWorker runs the catalog and identity queues only). */
async function startPaymentsWorker(config: Config) {
  const context: WorkerContext = await createWorkerContext(config);
  const bundle = config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined;
  const worker: Worker = await createPaymentsWorker(context, bundle);
  const running = worker.run();
  return {
    context,
    client: new Client({ connection: context.connection, namespace: config.TEMPORAL_NAMESPACE }),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await context.close();
    },
  };
}


let sandbox: SandboxProvider;
let config: Config;
let stack: Awaited<ReturnType<typeof startPaymentsWorker>>;
let api: Awaited<ReturnType<typeof startApi>>;
let client: Client;
const postgres = connectPostgres(process.env.DATABASE_URL!, { max: 4, applicationName: 'comptoir-test' });
const orders: string[] = [];

before(async () => {
  sandbox = await startSandboxProvider({ webhookSecret, log: 'error' });
  config = testConfig('payment-wf', {
    PAYMENT_PROVIDER_URL: sandbox.baseUrl,
    PAYMENT_PROVIDER_API_KEY: sandbox.apiKey,
    PAYMENT_PROVIDER_TIMEOUT_MS: '5000',
    WEBHOOK_SIGNING_SECRET: webhookSecret,
  });
  stack = await startPaymentsWorker(config);
  client = stack.client;
  api = await startApi(config);
});

after(async () => {
  await api?.stop();
  await stack?.stop();
  await sandbox?.stop();
  await postgres.close();
});

const webhookUrl = () => `${api.baseUrl}/v1/webhooks/payments`;

async function start(card: string, overrides: Partial<PaymentWorkflowInput> = {}) {
  const orderId = randomUUID();
  orders.push(orderId);
  const paymentToken = await sandbox.tokenise(card);
  const workflowId = paymentWorkflowId(config.TASK_QUEUE_PREFIX, orderId);
  const handle = await client.workflow.start(paymentWorkflowType, {
    workflowId,
    taskQueue: config.taskQueues.payments,
    args: [{ orderId, amount: 2599, currency: 'EUR', paymentToken, ...overrides } satisfies PaymentWorkflowInput],
  });
  return { orderId, workflowId, handle, paymentToken };
}

type Handle = Awaited<ReturnType<typeof start>>['handle'];

const stateOf = (handle: Handle) => handle.query(paymentStateQuery);

async function untilStatus(handle: Handle, status: PaymentState['status']): Promise<PaymentState> {
  return waitFor(
    async () => {
      const state = await stateOf(handle);
      return state.status === status ? state : undefined;
    },
    { what: `payment ${status}`, timeoutMs: 60_000 },
  );
}

async function onlyProviderPayment(orderId: string): Promise<SandboxPayment> {
  const payments = await sandbox.paymentsOf(orderId);
  assert.equal(payments.length, 1, 'one payment at the provider');
  return payments[0]!;
}

async function ledgerKinds(orderId: string) {
  return (await ledgerOf(postgres.db, orderId)).map((entry) => `${entry.kind}:${entry.amount}`);
}

/** The providerEvent signals the workflow's history holds (across its runs of this id). */
async function providerEventSignals(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === providerEventSignal.name).length;
}

describe('payment workflow', () => {
  test('success card: authorised, then captured once however often capture is asked; the capture activity is idempotent', async () => {
    const { orderId, workflowId, handle, paymentToken } = await start(testCards.success);
    const authorised = await untilStatus(handle, 'authorised');
    assert.equal(authorised.authorised, 2599);
    assert.ok(authorised.providerPaymentId?.startsWith('pay_'));

    await Promise.all([1, 2, 3].map(() => handle.signal(capturePaymentSignal, {})));
    const captured = await untilStatus(handle, 'captured');
    assert.equal(captured.captured, 2599);

    const atProvider = await onlyProviderPayment(orderId);
    assert.equal(atProvider.captureCount, 1);
    assert.equal(atProvider.capturedAmount, 2599);
    assert.deepEqual(await ledgerKinds(orderId), ['authorised:2599', 'captured:2599']);
    assert.equal((await paymentOf(postgres.db, orderId))?.status, 'captured');

    // The activities run again as a retry would (same keys): the provider replays its answers, nothing is posted twice.
    const activities = createPaymentActivities({ db: postgres.db, config, logger: silent, provider: paymentProviderFrom(config) });
    const reauthorised = await activities.authorisePayment({ orderId, amount: 2599, currency: 'EUR', paymentToken, idempotencyKey: `${workflowId}:authorise` });
    assert.deepEqual(reauthorised, { status: 'authorised', providerPaymentId: authorised.providerPaymentId });
    assert.equal((await paymentOf(postgres.db, orderId))?.status, 'captured', 'a replayed authorisation does not move the payment back');
    const again = await activities.capturePayment({ orderId, providerPaymentId: captured.providerPaymentId!, amount: 2599, currency: 'EUR', idempotencyKey: `${workflowId}:capture` });
    assert.equal(again.posted, false);
    assert.equal((await onlyProviderPayment(orderId)).captureCount, 1);
    assert.deepEqual(await ledgerKinds(orderId), ['authorised:2599', 'captured:2599']);

    // The provider's events signalled straight to the workflow, twice each and newest first: each is seen once, nothing moves.
    const events = atProvider.events;
    assert.deepEqual(events.map((e) => e.type), ['payment.authorised', 'payment.captured']);
    for (const event of [events[1]!, events[0]!, events[1]!, events[0]!]) await handle.signal(providerEventSignal, event);
    const after = await waitFor(async () => {
      const state = await stateOf(handle);
      return state.eventsSeen.length === 2 ? state : undefined;
    });
    assert.deepEqual(after.eventsSeen.map((e) => e.id), [events[1]!.id, events[0]!.id]);
    assert.equal(after.status, 'captured');
    assert.equal((await onlyProviderPayment(orderId)).captureCount, 1);
    assert.equal(await providerEventSignals(workflowId), 4, 'the four signals reached the workflow; it acted on none');
  });

  test('declined card: the payment fails at authorisation with the provider\'s reason, nothing is posted', async () => {
    const { orderId, handle } = await start(testCards.decline);
    const outcome = (await handle.result()) as PaymentOutcome;
    assert.equal(outcome.status, 'failed');
    assert.deepEqual(outcome.failure, { reason: 'card_declined', stage: 'authorise' });
    assert.equal(outcome.authorised, 0);
    const row = await paymentOf(postgres.db, orderId);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failureReason, 'card_declined');
    assert.deepEqual(await ledgerKinds(orderId), []);
  });

  test('3-D Secure: confirmation webhooks delivered twice and out of order through the webhook route → exactly one capture', async () => {
    await sandbox.settings({ webhookUrl: webhookUrl(), duplicateRate: 1, reorder: false });
    try {
      const { orderId, workflowId, handle } = await start(testCards.threeDSecure);
      const waiting = await untilStatus(handle, 'requires_action');
      assert.match(waiting.actionUrl ?? '', /\/3ds\/pay_/);
      assert.deepEqual(await ledgerKinds(orderId), [], 'nothing authorised before the shopper confirms');

      // The shopper confirms; the provider delivers payment.authorised twice to the webhook route.
      await sandbox.confirm(waiting.providerPaymentId!, 'succeed');
      await untilStatus(handle, 'authorised');

      // From now on the provider holds each event until the payment's next one and sends the newer first.
      await sandbox.settings({ reorder: true, reorderWindowMs: 120_000 });
      await Promise.all([1, 2, 3].map(() => handle.signal(capturePaymentSignal, {})));
      await untilStatus(handle, 'captured');
      // The refund's event releases the held capture event: refunded, refunded, captured, captured.
      const refund = await handle.executeUpdate(refundPaymentUpdate, { args: [{ refundId: 'r-1', amount: 500, reason: 'damaged box' }] });
      assert.deepEqual(refund, { refundId: 'r-1', amount: 500, status: 'succeeded' });

      const delivered = await waitFor(async () => {
        const payment = await onlyProviderPayment(orderId);
        return payment.deliveries.filter((d) => d.delivered).length === 6 ? payment : undefined;
      }, { what: 'six webhook deliveries' });
      assert.deepEqual(
        delivered.deliveries.filter((d) => d.delivered).map((d) => `${d.type}#${d.copy}`),
        ['payment.authorised#1', 'payment.authorised#2', 'payment.refunded#1', 'payment.refunded#2', 'payment.captured#1', 'payment.captured#2'],
      );
      const state = await waitFor(async () => {
        const s = await stateOf(handle);
        return s.eventsSeen.length === 3 ? s : undefined;
      }, { what: 'three events seen' });
      assert.deepEqual(state.eventsSeen.map((e) => e.type), ['payment.authorised', 'payment.refunded', 'payment.captured'], 'the workflow saw the echoes out of order');
      assert.equal(state.status, 'captured');

      assert.equal(delivered.captureCount, 1, 'one capture at the provider');
      assert.deepEqual(await ledgerKinds(orderId), ['authorised:2599', 'captured:2599', 'refunded:500']);
      // Each event stored once and signalled once: the second copies stopped at the inbox.
      const inbox = await postgres.db.select().from(webhookInbox).where(inArray(webhookInbox.eventId, delivered.events.map((e) => e.id)));
      assert.equal(inbox.length, 3);
      assert.ok(inbox.every((row) => row.status === 'delivered' && row.attempts === 1));
      assert.equal(await providerEventSignals(workflowId), 3);
      await recordHistory(client, workflowId, 'payment-3ds-webhooks');
    } finally {
      await sandbox.settings({ webhookUrl: null, duplicateRate: 0, reorder: false });
    }
  });

  test('3-D Secure: a capture asked before the shopper confirms waits for the confirmation', async () => {
    await sandbox.settings({ webhookUrl: webhookUrl() });
    try {
      const { orderId, handle } = await start(testCards.threeDSecure);
      const waiting = await untilStatus(handle, 'requires_action');
      await handle.signal(capturePaymentSignal, {});
      assert.equal((await stateOf(handle)).status, 'requires_action');
      assert.equal((await onlyProviderPayment(orderId)).captureCount, 0);
      await sandbox.confirm(waiting.providerPaymentId!, 'succeed');
      await untilStatus(handle, 'captured');
      assert.equal((await onlyProviderPayment(orderId)).captureCount, 1);
    } finally {
      await sandbox.settings({ webhookUrl: null });
    }
  });

  test('3-D Secure failed by the shopper: the payment fails at confirmation', async () => {
    await sandbox.settings({ webhookUrl: webhookUrl() });
    try {
      const { orderId, handle } = await start(testCards.threeDSecure);
      const waiting = await untilStatus(handle, 'requires_action');
      await sandbox.confirm(waiting.providerPaymentId!, 'fail');
      const outcome = (await handle.result()) as PaymentOutcome;
      assert.deepEqual(outcome.failure, { reason: 'authentication_failed', stage: 'confirmation' });
      assert.equal((await paymentOf(postgres.db, orderId))?.failureReason, 'authentication_failed');
      assert.deepEqual(await ledgerKinds(orderId), []);
    } finally {
      await sandbox.settings({ webhookUrl: null });
    }
  });

  test('no confirmation within confirmationTimeoutMs: the pending authorisation is voided and the payment fails', async () => {
    const { orderId, handle } = await start(testCards.threeDSecure, { confirmationTimeoutMs: 3_000 });
    const outcome = (await handle.result()) as PaymentOutcome;
    assert.equal(outcome.status, 'failed');
    assert.deepEqual(outcome.failure, { reason: 'confirmation_timeout', stage: 'confirmation' });
    const atProvider = await onlyProviderPayment(orderId);
    assert.equal(atProvider.status, 'voided');
    const row = await paymentOf(postgres.db, orderId);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failureReason, 'confirmation_timeout');
    // A confirmation now is too late: the provider has nothing waiting for one.
    const late = await sandbox.request(`/v1/test/payments/${atProvider.id}/confirm`, { body: { outcome: 'succeed' } });
    assert.equal(late.status, 409);
    assert.deepEqual(await ledgerKinds(orderId), []);
  });

  test('concurrent refunds never exceed what was captured, through the workflow or the activity', async () => {
    const { orderId, workflowId, handle } = await start(testCards.success, { amount: 1000 });
    await untilStatus(handle, 'authorised');
    await handle.signal(capturePaymentSignal, {});
    await untilStatus(handle, 'captured');

    const attempts = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) => handle.executeUpdate(refundPaymentUpdate, { args: [{ refundId: `r-${n}`, amount: 300, reason: 'partial return' }] })),
    );
    const succeeded = attempts.filter((a) => a.status === 'fulfilled' && a.value.status === 'succeeded');
    const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    assert.equal(succeeded.length, 3, 'three refunds of 300 fit in 1000');
    assert.equal(refused.length, 2);
    for (const r of refused) {
      assert.ok(r.reason instanceof WorkflowUpdateFailedError, String(r.reason));
      assert.match(String((r.reason as WorkflowUpdateFailedError).cause?.message), /exceeds what is still refundable/);
    }
    // A refund that went through, asked again: its first result, and nothing more is refunded.
    const done = succeeded[0] as PromiseFulfilledResult<{ refundId: string }>;
    const replay = await handle.executeUpdate(refundPaymentUpdate, { args: [{ refundId: done.value.refundId, amount: 300, reason: 'partial return' }] });
    assert.deepEqual(replay, { refundId: done.value.refundId, amount: 300, status: 'succeeded' });

    // Behind the workflow, the activity holds the line by itself: three claims of 100 when 100 is left → one refund.
    const activities = createPaymentActivities({ db: postgres.db, config, logger: silent, provider: paymentProviderFrom(config) });
    const { providerPaymentId } = await stateOf(handle);
    const direct = await Promise.allSettled(
      ['a', 'b', 'c'].map((n) =>
        activities.refundPayment({ orderId, providerPaymentId: providerPaymentId!, amount: 100, currency: 'EUR', reason: 'race', idempotencyKey: `${workflowId}:refund:direct-${n}` }),
      ),
    );
    assert.equal(direct.filter((d) => d.status === 'fulfilled').length, 1);
    for (const d of direct.filter((d): d is PromiseRejectedResult => d.status === 'rejected')) {
      assert.equal((d.reason as { type?: string }).type, 'RefundExceedsCaptured');
    }

    const atProvider = await onlyProviderPayment(orderId);
    assert.equal(atProvider.refundedAmount, 1000);
    const balance = await ledgerBalance(postgres.db, orderId);
    assert.deepEqual({ captured: balance?.captured, refunded: balance?.refunded, paid: balance?.paid }, { captured: 1000, refunded: 1000, paid: 0 });
    const rows = await postgres.db.select().from(refundsTable).where(eq(refundsTable.orderId, orderId));
    assert.equal(rows.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0), 1000);
    await recordHistory(client, workflowId, 'payment-refunds');
  });

  test('cancel: an authorised payment is voided, a captured one refunded in full; both workflows finish', async () => {
    const voided = await start(testCards.success);
    await untilStatus(voided.handle, 'authorised');
    await voided.handle.signal(cancelPaymentSignal, { reason: 'fraud review refused' });
    const voidedOutcome = (await voided.handle.result()) as PaymentOutcome;
    assert.equal(voidedOutcome.status, 'voided');
    assert.equal((await onlyProviderPayment(voided.orderId)).status, 'voided');
    assert.deepEqual(await ledgerKinds(voided.orderId), ['authorised:2599', 'voided:2599']);
    assert.equal((await paymentOf(postgres.db, voided.orderId))?.status, 'voided');

    const refunded = await start(testCards.success);
    await untilStatus(refunded.handle, 'authorised');
    await refunded.handle.signal(capturePaymentSignal, {});
    await untilStatus(refunded.handle, 'captured');
    await refunded.handle.executeUpdate(refundPaymentUpdate, { args: [{ refundId: 'part', amount: 599, reason: 'one item back' }] });
    await refunded.handle.signal(cancelPaymentSignal, { reason: 'order cancelled by support' });
    const refundedOutcome = (await refunded.handle.result()) as PaymentOutcome;
    assert.equal(refundedOutcome.status, 'refunded');
    assert.equal(refundedOutcome.refunded, 2599);
    const atProvider = await onlyProviderPayment(refunded.orderId);
    assert.equal(atProvider.refundedAmount, 2599);
    assert.deepEqual(await ledgerKinds(refunded.orderId), ['authorised:2599', 'captured:2599', 'refunded:599', 'refunded:2000']);
  });

  test('a run continued as new keeps its state: the resumed workflow refunds what the first run captured', async () => {
    const first = await start(testCards.success);
    await untilStatus(first.handle, 'authorised');
    await first.handle.signal(capturePaymentSignal, {});
    const captured = await untilStatus(first.handle, 'captured');
    // What continue-as-new does, by hand: end the run and start the next one from its state.
    await first.handle.terminate('test: continue as new by hand');
    const resumed = await client.workflow.start(paymentWorkflowType, {
      workflowId: first.workflowId,
      taskQueue: config.taskQueues.payments,
      args: [{ orderId: first.orderId, amount: 2599, currency: 'EUR', paymentToken: '', resumeFrom: captured } satisfies PaymentWorkflowInput],
    });
    assert.equal((await resumed.query(paymentStateQuery)).runs, 2);
    const refund = await resumed.executeUpdate(refundPaymentUpdate, { args: [{ refundId: 'after-resume', amount: 2599, reason: 'returned' }] });
    assert.equal(refund.status, 'succeeded');
    const outcome = (await resumed.result()) as PaymentOutcome;
    assert.equal(outcome.status, 'refunded', 'fully refunded: the workflow is done');
    assert.equal((await onlyProviderPayment(first.orderId)).captureCount, 1);
  });

  test('the money adds up over every payment of this file', async () => {
    const totals = await ledgerTotals(postgres.db);
    const ours = new Set(orders);
    assert.deepEqual(totals.anomalies.filter((a) => ours.has(a.orderId)), []);
    for (const orderId of orders) {
      const balance = await ledgerBalance(postgres.db, orderId);
      const providerPayments = await sandbox.paymentsOf(orderId);
      const providerPaid = providerPayments.reduce((sum, p) => sum + p.capturedAmount - p.refundedAmount, 0);
      assert.equal(balance?.paid ?? 0, providerPaid, `order ${orderId}: our ledger and the provider agree on what was paid`);
      assert.ok((balance?.held ?? 0) === 0 || (await paymentOf(postgres.db, orderId))?.status === 'authorised', `order ${orderId}: nothing held once over`);
    }
  });
});

describe('payment workflow with the provider unreachable', () => {
  let down: Awaited<ReturnType<typeof startPaymentsWorker>>;
  let downConfig: Config;

  before(async () => {
    downConfig = testConfig('payment-wf-down', { PAYMENT_PROVIDER_URL: `http://127.0.0.1:${await freePort()}`, PAYMENT_PROVIDER_API_KEY: 'sk_test_nobody' });
    down = await startPaymentsWorker(downConfig);
  });
  after(() => down?.stop());

  test('authorisation retries, then the payment fails with provider_unavailable', async () => {
    const orderId = randomUUID();
    const workflowId = paymentWorkflowId(downConfig.TASK_QUEUE_PREFIX, orderId);
    const handle = await down.client.workflow.start(paymentWorkflowType, {
      workflowId,
      taskQueue: downConfig.taskQueues.payments,
      args: [{ orderId, amount: 1500, currency: 'EUR', paymentToken: 'tok_unreachable', authoriseWithinMs: 4_000 } satisfies PaymentWorkflowInput],
    });
    const outcome = (await handle.result()) as PaymentOutcome;
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.failure?.reason, 'provider_unavailable');
    assert.equal(outcome.failure?.stage, 'authorise');
    const row = await paymentOf(postgres.db, orderId);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failureReason, 'provider_unavailable');
    const history = await handle.fetchHistory();
    const attempts = Math.max(0, ...(history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0));
    assert.ok(attempts > 1, `the authorisation was retried (${attempts} attempts)`);
    // Ops read why: the last attempt's failure, kept in the state.
    assert.match(outcome.failure?.detail ?? '', /provider unreachable \(ECONNREFUSED\)/);
  });
});

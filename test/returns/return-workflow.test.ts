/**
 * The `returnAndRefund` workflow on a real Temporal server with real workers: its activities against
 * real Postgres, the real sandbox carrier process (labels; tracking events the test moves itself) and
 * the real payment workflow with the real sandbox payment provider. Signals are sent as the carrier
 * webhook and the ops routes send them; the HTTP paths are the end-to-end tests' job. Also: every
 * activity run a second time repeats nothing, and a parcel that never comes expires (time-skipping).
 */
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createReturnActivities } from '../../activities/returns/index';
import { claimedQuantities, returnById, returnLinesOf } from '../../db/returns';
import { creditNoteOfRefund, creditNotesOfInvoice } from '../../db/invoices';
import { ledgerBalance, ledgerOf } from '../../db/payments';
import { createSandboxCarrier } from '../../fulfilment/sandbox-carrier-adapter';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { requestReturn } from '../../returns/requests';
import { createPaymentsWorker } from '../../workers/queues/payments';
import { createWorkerContext, workflowsPath, type WorkerContext } from '../../workers/runtime';
import { paymentWorkflowId, refundPaymentUpdate } from '../../workflows/payments/definitions';
import {
  inspectionDecisionSignal,
  returnParcelEventSignal,
  returnReceivedSignal,
  returnStateQuery,
  returnWorkflowId,
  returnWorkflowType,
  type ReturnOutcome,
  type ReturnWorkflowInput,
} from '../../workflows/returns/definitions';
import { recordHistory } from '../support/histories';
import { startSandboxCarrier, type SandboxCarrier } from '../support/sandbox-carrier';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { testConfig, waitFor } from '../support/stack';
import { capturedPayment, deliveredOrder, onHand, orderEventsOf } from './fixtures';

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `RW-${run}-${name}`;
const silent = createLogger({ level: 'silent', name: 'return-workflow-test' });

let psp: SandboxProvider;
let carrier: SandboxCarrier;
let config: Config;
let context: WorkerContext;
let client: Client;
let workers: Worker[] = [];
let running: Promise<unknown>;
let returnsQueue: string;

const activities = () =>
  createReturnActivities({ db: context.postgres.db, config, logger: silent, client, carrier: createSandboxCarrier({ baseUrl: carrier.baseUrl, apiKey: carrier.apiKey }) });

before(async () => {
  psp = await startSandboxProvider({ log: 'error' });
  // Parcels move only when the test says so.
  carrier = await startSandboxCarrier({ autoAdvance: false, log: 'error' });
  config = testConfig('returns-wf', { PAYMENT_PROVIDER_URL: psp.baseUrl, PAYMENT_PROVIDER_API_KEY: psp.apiKey });
  context = await createWorkerContext(config);
  client = new Client({ connection: context.connection, namespace: config.TEMPORAL_NAMESPACE });
  returnsQueue = `${config.TASK_QUEUE_PREFIX}returns`;
  const bundle = config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined;
  workers = [
    await createPaymentsWorker(context, bundle),
    await Worker.create({
      connection: context.connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: returnsQueue,
      ...(bundle ? { workflowBundle: bundle } : { workflowsPath }),
      activities: activities(),
      plugins: [context.otelPlugin],
    }),
  ];
  running = Promise.all(workers.map((worker) => worker.run()));
});

after(async () => {
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await context?.close();
  await carrier?.stop();
  await psp?.stop();
});

type Line = { sku: string; quantity: number; unitAmount: number };

/** A delivered, paid order and a return of `returned` from it, its workflow started. */
async function returnOf(lines: Line[], returned: { sku: string; quantity: number }[], options: { shippingAddress?: Record<string, unknown>; pay?: boolean } = {}) {
  const { db } = context.postgres;
  const order = await deliveredOrder(db, config, { accountId: randomUUID(), lines, ...(options.shippingAddress ? { shippingAddress: options.shippingAddress } : {}) });
  if (options.pay !== false) await capturedPayment(client, config, psp, order, testCards.success);
  const returnId = randomUUID();
  const workflowId = returnWorkflowId(config.TASK_QUEUE_PREFIX, returnId);
  await requestReturn(db, { returnId, order, lines: returned, reason: 'too small', workflowId, now: new Date() });
  const handle = await client.workflow.start(returnWorkflowType, {
    workflowId,
    taskQueue: returnsQueue,
    args: [{ returnId, orderId: order.id, accountId: order.accountId, lines: returned } satisfies ReturnWorkflowInput],
  });
  return { order, returnId, workflowId, handle };
}

const untilStatus = (handle: WorkflowHandle, status: string) =>
  waitFor(async () => {
    const state = await handle.query(returnStateQuery);
    return state.status === status ? state : undefined;
  }, { what: `return ${status}`, timeoutMs: 60_000 });

describe('returnAndRefund', () => {
  test('label, carrier delivery, inspection, restock of the accepted units and a partial refund; every activity again repeats nothing', async () => {
    const { db } = context.postgres;
    const mug = sku('MUG');
    const teapot = sku('TEAPOT');
    const { order, returnId, workflowId, handle } = await returnOf(
      [
        { sku: mug, quantity: 3, unitAmount: 1500 },
        { sku: teapot, quantity: 1, unitAmount: 4900 },
      ],
      [
        { sku: mug, quantity: 2 },
        { sku: teapot, quantity: 1 },
      ],
    );
    const stockBefore = { mug: await onHand(db, mug), teapot: await onHand(db, teapot) };

    await untilStatus(handle, 'authorised');
    const parcel = await waitFor(() => carrier.parcelByReference(returnId), { what: 'the return parcel at the carrier' });
    assert.equal(parcel.kind, 'return');
    assert.deepEqual(parcel.lines, [{ sku: mug, quantity: 2 }, { sku: teapot, quantity: 1 }]);
    const row = (await returnById(db, returnId))!;
    assert.equal(row.status, 'authorised');
    assert.equal(row.trackingNumber, parcel.trackingNumber);
    assert.equal(row.location, 'paris', 'back where the units were taken from');

    // The parcel travels; the carrier's events come twice and out of order, an outbound one too.
    const inTransit = await carrier.emit(parcel.id, 'in_transit');
    const delivered = await carrier.emit(parcel.id, 'delivered');
    for (const event of [delivered, inTransit, delivered, { ...delivered, id: `${delivered.id}-out`, data: { ...delivered.data, kind: 'outbound' as const } }]) {
      await handle.signal(returnParcelEventSignal, event);
    }
    const received = await untilStatus(handle, 'received');
    assert.equal(received.receivedVia, 'carrier');
    assert.deepEqual(received.parcelEvents.map((e) => e.type), ['delivered', 'in_transit']);
    // A receipt from ops after the carrier's changes nothing.
    await handle.signal(returnReceivedSignal, {});

    // Ops inspect: a misfit decision is ignored, the first one that fits is kept, a later one ignored too.
    await handle.signal(inspectionDecisionSignal, { lines: [{ sku: mug, accepted: 2, rejected: 2 }] });
    await handle.signal(inspectionDecisionSignal, { lines: [{ sku: mug, accepted: 1, rejected: 1 }, { sku: teapot, accepted: 1, rejected: 0 }], note: 'one mug chipped' });
    await handle.signal(inspectionDecisionSignal, { lines: [{ sku: mug, accepted: 2, rejected: 0 }, { sku: teapot, accepted: 1, rejected: 0 }] });
    const outcome = (await handle.result()) as ReturnOutcome;
    assert.equal(outcome.status, 'refunded', outcome.reason ?? '');
    // One mug and the teapot, at what was paid for them; the chipped mug and the shipping are not refunded.
    assert.deepEqual(outcome.refund, { refundId: `return-${returnId}`, amount: 1500 + 4900, status: 'succeeded' });

    const after = (await returnById(db, returnId))!;
    assert.equal(after.status, 'refunded');
    assert.equal(after.receivedVia, 'carrier');
    assert.equal(after.refundAmount, 6400);
    assert.equal(after.inspectionNote, 'one mug chipped');
    assert.deepEqual((await returnLinesOf(db, returnId)).map((l) => [l.sku, l.quantity, l.acceptedQuantity, l.rejectedQuantity, l.restockedAt !== null]), [
      [mug, 2, 1, 1, true],
      [teapot, 1, 1, 0, true],
    ]);
    assert.equal(await onHand(db, mug), stockBefore.mug + 1);
    assert.equal(await onHand(db, teapot), stockBefore.teapot + 1);
    const balance = (await ledgerBalance(db, order.id))!;
    assert.equal(balance.captured, order.totalAmount);
    assert.equal(balance.refunded, 6400);
    const [atProvider] = await psp.paymentsOf(order.id);
    assert.equal(atProvider!.refundedAmount, 6400);
    assert.equal(atProvider!.refunds.length, 1);
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised', 'return_received', 'refund_issued']);
    // The refund's credit note credits the accepted units themselves, for exactly what was refunded.
    const creditNote = (await creditNoteOfRefund(db, order.id, `return-${returnId}`))!;
    assert.equal(creditNote.totalGross, 6400);
    const [noted] = (await creditNotesOfInvoice(db, creditNote.invoiceId)).filter((note) => note.id === creditNote.id);
    assert.deepEqual(noted!.lines.map((line) => [line.sku, line.quantity, line.gross]).sort(), [[mug, 1, 1500], [teapot, 1, 4900]]);
    await recordHistory(client, workflowId, 'returnAndRefund-refunded');

    // Every step once more, as a retry after a worker died would run it: nothing happens twice.
    const again = activities();
    assert.deepEqual(await again.bookReturnLabel({ returnId, returnBy: new Date().toISOString() }), { carrierShipmentId: parcel.id, trackingNumber: parcel.trackingNumber });
    assert.equal((await carrier.parcelsOf(order.id)).length, 1, 'one label');
    assert.deepEqual(await again.recordReturnReceived({ returnId, via: 'ops' }), { changed: false });
    const reinspected = await again.recordInspection({ returnId, decision: { lines: [{ sku: mug, accepted: 2, rejected: 0 }, { sku: teapot, accepted: 1, rejected: 0 }] } });
    assert.deepEqual(reinspected, { status: 'refunded', refundAmount: 6400, accepted: [{ sku: mug, quantity: 1 }, { sku: teapot, quantity: 1 }] }, 'the first decision stands');
    assert.deepEqual(await again.restockReturn({ returnId }), { restocked: [] });
    assert.equal(await onHand(db, mug), stockBefore.mug + 1);
    assert.deepEqual(await again.refundReturn({ returnId }), { status: 'succeeded', amount: 6400 });
    assert.deepEqual(await again.closeReturn({ returnId, status: 'expired', reason: 'late' }), { changed: false });
    assert.equal((await ledgerOf(db, order.id)).filter((entry) => entry.kind === 'refunded').length, 1);
    assert.equal((await psp.paymentsOf(order.id))[0]!.refunds.length, 1);
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised', 'return_received', 'refund_issued']);
    assert.equal((await creditNotesOfInvoice(db, creditNote.invoiceId)).length, 1, 'one credit note');
  });

  test('the refund step itself, run twice while the first is at the payment workflow: one refund', async () => {
    const { db } = context.postgres;
    const cup = sku('CUP');
    const { order, returnId, handle } = await returnOf([{ sku: cup, quantity: 2, unitAmount: 1200 }], [{ sku: cup, quantity: 2 }]);
    await untilStatus(handle, 'authorised');
    await handle.signal(returnReceivedSignal, {});
    await untilStatus(handle, 'received');
    // The workflow is stopped before it refunds; the step then runs twice at once, as two retries would.
    await handle.terminate('the test runs the last steps itself');
    const steps = activities();
    await steps.recordInspection({ returnId, decision: { lines: [{ sku: cup, accepted: 2, rejected: 0 }] } });
    const results = await Promise.all([steps.refundReturn({ returnId }), steps.refundReturn({ returnId })]);
    assert.deepEqual(results, [{ status: 'succeeded', amount: 2400 }, { status: 'succeeded', amount: 2400 }]);
    assert.equal((await ledgerBalance(db, order.id))!.refunded, 2400);
    assert.equal((await psp.paymentsOf(order.id))[0]!.refunds.length, 1);
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised', 'return_received', 'refund_issued']);
  });

  test('ops receipt; nothing accepted: rejected, nothing restocked, nothing refunded', async () => {
    const { db } = context.postgres;
    const lamp = sku('LAMP');
    const { order, returnId, workflowId, handle } = await returnOf([{ sku: lamp, quantity: 1, unitAmount: 3900 }], [{ sku: lamp, quantity: 1 }]);
    await untilStatus(handle, 'authorised');
    const before = await onHand(db, lamp);
    await handle.signal(returnReceivedSignal, { note: 'left at the front desk' });
    await handle.signal(returnReceivedSignal, {});
    await untilStatus(handle, 'received');
    await handle.signal(inspectionDecisionSignal, { lines: [{ sku: lamp, accepted: 0, rejected: 1 }], note: 'worn' });
    const outcome = (await handle.result()) as ReturnOutcome;
    assert.equal(outcome.status, 'rejected');
    assert.equal(outcome.refund, null);
    const row = (await returnById(db, returnId))!;
    assert.equal(row.receivedVia, 'ops');
    assert.equal(row.status, 'rejected');
    assert.equal(await onHand(db, lamp), before);
    assert.equal((await ledgerBalance(db, order.id))!.refunded, 0);
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised', 'return_received']);
    await recordHistory(client, workflowId, 'returnAndRefund-rejected');
  });

  test('never more than captured: when a goodwill refund took most of the money first, the return\'s refund is refused and ops decide', async () => {
    const { db } = context.postgres;
    const vase = sku('VASE');
    const { order, returnId, handle } = await returnOf([{ sku: vase, quantity: 2, unitAmount: 2000 }], [{ sku: vase, quantity: 2 }]);
    await untilStatus(handle, 'authorised');
    // 4000 + 490 captured; 1000 is all that will be left.
    const goodwill = await client.workflow
      .getHandle(paymentWorkflowId(config.TASK_QUEUE_PREFIX, order.id))
      .executeUpdate(refundPaymentUpdate, { args: [{ refundId: 'goodwill-first', amount: order.totalAmount - 1000, reason: 'goodwill' }] });
    assert.equal(goodwill.status, 'succeeded');
    await handle.signal(returnReceivedSignal, {});
    await untilStatus(handle, 'received');
    await handle.signal(inspectionDecisionSignal, { lines: [{ sku: vase, accepted: 2, rejected: 0 }] });
    const outcome = (await handle.result()) as ReturnOutcome;
    assert.equal(outcome.status, 'refund_failed');
    assert.match(outcome.reason ?? '', /exceeds what is still refundable \(1000\)/);
    const balance = (await ledgerBalance(db, order.id))!;
    assert.equal(balance.refunded, order.totalAmount - 1000);
    assert.ok(balance.refunded <= balance.captured);
    const row = (await returnById(db, returnId))!;
    assert.equal(row.status, 'refund_failed');
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised', 'return_received'], 'no refund announced');
  });

  test('the carrier refuses the label: the return is cancelled and its units can be returned again', async () => {
    const { db } = context.postgres;
    const rug = sku('RUG');
    // The carrier takes ISO country codes only.
    const { order, returnId, handle } = await returnOf([{ sku: rug, quantity: 1, unitAmount: 9900 }], [{ sku: rug, quantity: 1 }], {
      shippingAddress: { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'france' },
      pay: false,
    });
    const outcome = (await handle.result()) as ReturnOutcome;
    assert.equal(outcome.status, 'cancelled');
    assert.match(outcome.reason ?? '', /no return label: .*refused with 400/);
    assert.equal((await returnById(db, returnId))!.status, 'cancelled');
    assert.deepEqual(await claimedQuantities(db, order.id), []);
    assert.deepEqual(await orderEventsOf(db, order.id), []);
  });
});

describe('returnAndRefund on skipped time', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER_PATH! } } });
  });
  after(async () => {
    await env?.teardown();
  });

  test('no parcel within the label\'s 30 days: the return expires, its units can be returned again', async () => {
    const { db } = context.postgres;
    const hat = sku('HAT');
    const order = await deliveredOrder(db, config, { accountId: randomUUID(), lines: [{ sku: hat, quantity: 1, unitAmount: 2500 }] });
    const returnId = randomUUID();
    const workflowId = returnWorkflowId(config.TASK_QUEUE_PREFIX, returnId);
    await requestReturn(db, { returnId, order, lines: [{ sku: hat, quantity: 1 }], reason: 'changed my mind', workflowId, now: new Date() });
    assert.deepEqual(await claimedQuantities(db, order.id), [{ sku: hat, quantity: 1 }]);
    const taskQueue = `returns-skip-${run}`;
    const bundlePath = config.WORKFLOW_BUNDLE_PATH;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath }),
      activities: createReturnActivities({
        db,
        config,
        logger: silent,
        client: env.client,
        carrier: createSandboxCarrier({ baseUrl: carrier.baseUrl, apiKey: carrier.apiKey }),
      }),
      plugins: [new OpenTelemetryPlugin({ resource: new Resource({}), spanProcessor: new NoopSpanProcessor() })],
    });
    const started = await env.currentTimeMs();
    const outcome = (await worker.runUntil(
      env.client.workflow.execute(returnWorkflowType, { workflowId, taskQueue, args: [{ returnId, orderId: order.id, accountId: order.accountId, lines: [{ sku: hat, quantity: 1 }] } satisfies ReturnWorkflowInput] }),
    )) as ReturnOutcome;
    assert.equal(outcome.status, 'expired');
    assert.ok((await env.currentTimeMs()) - started >= 30 * 24 * 3_600_000, 'thirty days went by, on skipped time');
    const row = (await returnById(db, returnId))!;
    assert.equal(row.status, 'expired');
    assert.match(row.statusReason ?? '', /no parcel came back/);
    assert.deepEqual(await claimedQuantities(db, order.id), [], 'an expired return claims nothing');
    assert.deepEqual(await orderEventsOf(db, order.id), ['return_authorised']);
  });
});

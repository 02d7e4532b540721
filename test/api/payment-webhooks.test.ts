/**
 * `POST /v1/webhooks/payments` over HTTP, with real payment workflows (real worker, real Temporal, the
 * real sandbox provider): forged, tampered and expired signatures are refused and nothing is stored; a
 * replayed event is stored and signalled once; an event for an unknown payment is kept, orphaned and
 * listed for ops; an event received while Temporal is unreachable is acknowledged, kept pending and
 * delivered by the inbox sweeper once Temporal answers.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { storeWebhookEvent, webhookByEvent } from '../../db/payments';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { signatureHeader, signWebhook } from '../../payments/webhook-signature';
import type { Config } from '../../platform/config';
import { connectPostgres } from '../../platform/postgres';
import { ensurePaymentWebhookDelivery } from '../../workers/payment-webhooks';
import { createPaymentsWorker } from '../../workers/queues/payments';
import { createWorkerContext } from '../../workers/runtime';
import {
  paymentStateQuery,
  paymentWorkflowId,
  paymentWorkflowType,
  providerEventSignal,
  type PaymentOutcome,
  type PaymentState,
  type PaymentWorkflowInput,
} from '../../workflows/payments/definitions';
import { json, problem } from '../support/http';
import { adminHeaders, signedInAs } from '../support/identity';
import { recordHistory } from '../support/histories';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, testConfig, waitFor } from '../support/stack';

const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
const path = '/v1/webhooks/payments';

type Api = { app: ReturnType<typeof createApp>; baseUrl: string; stop(): Promise<void> };
type Receipt = { received: true; duplicate: boolean; status?: 'delivered' | 'pending' | 'orphaned' };
type InboxPage = { items: { eventId: string; eventType: string; status: string; lastError: string | null; payload: PaymentWebhookEvent }[]; nextCursor: string | null };


/**
 * The API as it is while no Temporal server answers at its address. Its client is made without the
 * SDK's gRPC retry interceptor: those retries (about 20 s of them) outlive the attempt the route waits
 * for, and their timers throw "Channel has been shut down" once the test closes the connection.
 */
async function startApiWithoutTemporal(config: Config): Promise<Api> {
  const deps = connectApiDeps(config);
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: '1s', interceptors: [] });
  const app = createApp({ ...deps, temporal: { connection, client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }) } });
  const api = { app, baseUrl: '', stop: async () => {} };
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  api.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.stop = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    });
    await connection.close();
    await deps.close();
  };
  return api;
}

let sandbox: SandboxProvider;
let config: Config;
let api: Api;
/** The same API, but its Temporal address leads nowhere. */
let apiWithoutTemporal: Api;
let worker: Worker;
let running: Promise<void>;
let context: Awaited<ReturnType<typeof createWorkerContext>>;
let client: Client;
const postgres = connectPostgres(process.env.DATABASE_URL!, { max: 2, applicationName: 'comptoir-test' });

before(async () => {
  sandbox = await startSandboxProvider({ webhookSecret, log: 'error' });
  const settings = { PAYMENT_PROVIDER_URL: sandbox.baseUrl, PAYMENT_PROVIDER_API_KEY: sandbox.apiKey, WEBHOOK_SIGNING_SECRET: webhookSecret };
  config = testConfig('payment-webhooks', settings);
  context = await createWorkerContext(config);
  worker = await createPaymentsWorker(context, config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined);
  running = worker.run();
  client = new Client({ connection: context.connection, namespace: config.TEMPORAL_NAMESPACE });
  // The sweeper, as the payments worker's start-up would ensure it; a grace longer than the route's own attempt (2.5 s), shorter than the default.
  await ensurePaymentWebhookDelivery(context, { batchSize: 20, idleWaitMs: 5_000, graceMs: 4_000 });
  api = await startApi(config);
  apiWithoutTemporal = await startApiWithoutTemporal(testConfig('payment-webhooks', { ...settings, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }));
});

after(async () => {
  await apiWithoutTemporal?.stop();
  await api?.stop();
  await client?.workflow.getHandle(`${config.TASK_QUEUE_PREFIX}payment-webhook-delivery`).terminate('test over').catch(() => {});
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await context?.close();
  await sandbox?.stop();
  await postgres.close();
});

const now = () => Math.floor(Date.now() / 1000);

function send(target: Api, body: string, signature: string | undefined) {
  return fetch(`${target.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { [signatureHeader]: signature }) },
    body,
  });
}

/** Posts `event` signed as the provider signs (or as `options` say). */
function post(event: unknown, options: { secret?: string; t?: number; target?: Api } = {}) {
  const body = JSON.stringify(event);
  return send(options.target ?? api, body, signWebhook(options.secret ?? webhookSecret, body, options.t ?? now()));
}

async function startPayment(card: string) {
  const orderId = randomUUID();
  const workflowId = paymentWorkflowId(config.TASK_QUEUE_PREFIX, orderId);
  const handle = await client.workflow.start(paymentWorkflowType, {
    workflowId,
    taskQueue: config.taskQueues.payments,
    args: [{ orderId, amount: 4200, currency: 'EUR', paymentToken: await sandbox.tokenise(card) } satisfies PaymentWorkflowInput],
  });
  return { orderId, workflowId, handle };
}

async function untilStatus(handle: Awaited<ReturnType<typeof startPayment>>['handle'], status: PaymentState['status']) {
  return waitFor(
    async () => {
      const state = await handle.query(paymentStateQuery);
      return state.status === status ? state : undefined;
    },
    { what: `payment ${status}` },
  );
}

async function providerEventSignals(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === providerEventSignal.name).length;
}

/** The provider's record of an authorised payment: its `payment.authorised` event, as it would send it. */
async function authorisedEvent(orderId: string): Promise<PaymentWebhookEvent> {
  const [payment] = await sandbox.paymentsOf(orderId);
  const event = payment?.events.find((e) => e.type === 'payment.authorised');
  assert.ok(event, 'the provider recorded payment.authorised');
  return event;
}

const someEvent = (overrides: Partial<PaymentWebhookEvent['data']> = {}): PaymentWebhookEvent => ({
  id: `evt_test_${randomBytes(8).toString('hex')}`,
  type: 'payment.authorised',
  createdAt: new Date().toISOString(),
  data: { providerPaymentId: `pay_test_${randomBytes(6).toString('hex')}`, orderId: randomUUID(), amount: 100, currency: 'EUR', ...overrides },
});

describe('payment webhooks', () => {
  test('a forged, tampered, unsigned or expired webhook is refused with 401 and nothing is stored', async () => {
    const event = someEvent();
    const body = JSON.stringify(event);

    const forged = await problem(await post(event, { secret: `whsec_${randomBytes(24).toString('base64url')}` }), 401);
    assert.equal(forged.type, 'https://comptoir.dev/problems/invalid-signature');
    assert.deepEqual(forged.errors?.map((e) => e.field), ['comptoir-signature']);
    assert.match(forged.detail ?? '', /does not match/);

    // A genuine signature over other bytes: the body was changed on the way (amount 100 → 1).
    const tampered = body.replace('"amount":100', '"amount":1');
    assert.notEqual(tampered, body);
    await problem(await send(api, tampered, signWebhook(webhookSecret, body, now())), 401);

    const unsigned = await problem(await send(api, body, undefined), 401);
    assert.match(unsigned.detail ?? '', /missing or malformed/);
    await problem(await send(api, body, 'v1=deadbeef'), 401);

    // Genuine but six minutes old: a replay from outside the window.
    const expired = await problem(await post(event, { t: now() - 360 }), 401);
    assert.match(expired.detail ?? '', /more than 5 minutes/);
    await problem(await post(event, { t: now() + 360 }), 401);

    assert.equal(await webhookByEvent(postgres.db, 'sandbox', event.id), undefined, 'nothing stored');
  });

  test('a signed body that is not a payment event is refused (400 / 422 naming the field) and not stored', async () => {
    const notJson = 'not json {';
    await problem(await send(api, notJson, signWebhook(webhookSecret, notJson, now())), 400);
    const incomplete = { ...someEvent(), type: 'payment.teleported' };
    const refused = await problem(await post(incomplete), 422);
    assert.deepEqual(refused.errors?.map((e) => e.field), ['type']);
    assert.equal(await webhookByEvent(postgres.db, 'sandbox', incomplete.id), undefined);
  });

  test('a replayed event is stored once and signalled once; the replay answers 200 duplicate', async () => {
    const { orderId, workflowId, handle } = await startPayment(testCards.success);
    await untilStatus(handle, 'authorised');
    const event = await authorisedEvent(orderId);

    const first = await json<Receipt>(await post(event), 200);
    assert.deepEqual(first, { received: true, duplicate: false, status: 'delivered' });
    // The same event again, signed afresh as a provider's redelivery is; then the very same request again.
    const body = JSON.stringify(event);
    const signature = signWebhook(webhookSecret, body, now());
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await json<Receipt>(await send(api, body, signature), 200), { received: true, duplicate: true });
    }

    const row = await webhookByEvent(postgres.db, 'sandbox', event.id);
    assert.equal(row?.status, 'delivered');
    assert.equal(row?.attempts, 1);
    assert.equal(await providerEventSignals(workflowId), 1, 'signalled once');
    const state = await handle.query(paymentStateQuery);
    assert.deepEqual(state.eventsSeen, [{ id: event.id, type: 'payment.authorised' }]);
    assert.equal(state.status, 'authorised', 'an echo of what the workflow knows changes nothing');
  });

  test('an event for an unknown payment is kept as orphaned and listed for ops; a late echo of a finished payment is not', async () => {
    const unknown = someEvent();
    assert.deepEqual(await json<Receipt>(await post(unknown), 200), { received: true, duplicate: false, status: 'orphaned' });
    const row = await webhookByEvent(postgres.db, 'sandbox', unknown.id);
    assert.equal(row?.status, 'orphaned');
    assert.match(row?.lastError ?? '', /no payment workflow/);

    // A declined payment's workflow is over by the time the provider's payment.declined arrives: that echo is expected.
    const declined = await startPayment(testCards.decline);
    assert.equal(((await declined.handle.result()) as PaymentOutcome).status, 'failed');
    const [payment] = await sandbox.paymentsOf(declined.orderId);
    const echo = payment!.events.find((e) => e.type === 'payment.declined')!;
    assert.deepEqual(await json<Receipt>(await post(echo), 200), { received: true, duplicate: false, status: 'delivered' });
    assert.match((await webhookByEvent(postgres.db, 'sandbox', echo.id))?.lastError ?? '', /already closed; payment.declined matches/);
    // … but the provider saying it authorised money for a payment that failed is for a person to look at.
    const surprise = someEvent({ orderId: declined.orderId, providerPaymentId: payment!.id });
    assert.equal((await json<Receipt>(await post(surprise), 200)).status, 'orphaned');

    const page = await json<InboxPage>(await fetch(`${api.baseUrl}/v1/admin/webhooks?status=orphaned&limit=100`, { headers: await adminHeaders(config) }), 200);
    const listed = page.items.map((item) => item.eventId);
    assert.ok(listed.includes(unknown.id), 'the unknown payment\'s event is listed');
    assert.ok(listed.includes(surprise.id));
    assert.ok(!listed.includes(echo.id));
    assert.ok(page.items.every((item) => item.status === 'orphaned'));
    assert.equal(page.items.find((item) => item.eventId === unknown.id)?.payload.data.orderId, unknown.data.orderId);

    // The inbox is for staff who may read the audit trail.
    const customer = await signedInAs(config, 'customer');
    await problem(await fetch(`${api.baseUrl}/v1/admin/webhooks`, { headers: customer.headers }), 403);
    await problem(await fetch(`${api.baseUrl}/v1/admin/webhooks`), 401);
    await problem(await fetch(`${api.baseUrl}/v1/admin/webhooks?status=lost`, { headers: await adminHeaders(config) }), 400);
  });

  test('Temporal unreachable at receipt: the event is stored, acknowledged, and delivered later by the sweeper', async () => {
    const { orderId, workflowId, handle } = await startPayment(testCards.threeDSecure);
    const waiting = await untilStatus(handle, 'requires_action');
    // The provider delivers the shopper's confirmation to an API that cannot reach Temporal right now.
    await sandbox.settings({ webhookUrl: `${apiWithoutTemporal.baseUrl}${path}` });
    try {
      await sandbox.confirm(waiting.providerPaymentId!, 'succeed');
      const delivery = await waitFor(async () => {
        const [payment] = await sandbox.paymentsOf(orderId);
        return payment?.deliveries.find((d) => d.type === 'payment.authorised');
      }, { what: 'the provider to deliver payment.authorised' });
      assert.equal(delivery.outcome, 200, 'acknowledged although Temporal could not be reached');
      assert.equal(delivery.attempt, 1);
    } finally {
      await sandbox.settings({ webhookUrl: null });
    }
    const event = await authorisedEvent(orderId);
    const stored = await webhookByEvent(postgres.db, 'sandbox', event.id);
    assert.ok(stored, 'stored at receipt');
    assert.ok(stored.attempts >= 1, 'the route tried to deliver it');

    // The sweeper (running on the worker, which reaches Temporal) hands it over: the payment goes on.
    const authorised = await untilStatus(handle, 'authorised');
    assert.deepEqual(authorised.eventsSeen, [{ id: event.id, type: 'payment.authorised' }]);
    const delivered = await waitFor(async () => {
      const row = await webhookByEvent(postgres.db, 'sandbox', event.id);
      return row?.status === 'delivered' ? row : undefined;
    });
    assert.ok(delivered.deliveredAt);
    assert.match(stored.lastError ?? '', /signal failed/, 'the failed attempt at receipt is on the row');
    assert.equal(await providerEventSignals(workflowId), 1);
    await recordHistory(client, `${config.TASK_QUEUE_PREFIX}payment-webhook-delivery`, 'paymentWebhookDelivery-running');
  });

  test('the sweeper keeps an event it cannot deliver for lack of a workflow as orphaned, not pending forever', async () => {
    // As the route leaves an event when it dies between storing and signalling.
    const event = someEvent();
    const stored = await storeWebhookEvent(postgres.db, { provider: 'sandbox', eventId: event.id, eventType: event.type, payload: event as unknown as Record<string, unknown> });
    assert.ok(stored.stored);
    const row = await waitFor(async () => {
      const current = await webhookByEvent(postgres.db, 'sandbox', event.id);
      return current?.status !== 'pending' ? current : undefined;
    }, { what: 'the sweeper to settle the event' });
    assert.equal(row?.status, 'orphaned');
    assert.equal(row?.attempts, 1);
    assert.match(row?.lastError ?? '', /no payment workflow/);
  });
});

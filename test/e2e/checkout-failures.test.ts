/**
 * The checkout's failure cases end to end, over HTTP, with the real sandbox payment provider process
 * sending signed webhooks back to the API, real Postgres and real Temporal:
 *
 * - worker processes killed with SIGKILL mid-saga (while waiting for the 3-D Secure confirmation, while
 *   waiting for the fraud decision, and in the middle of recording PAID), each replaced by a new one;
 * - a 3-D Secure confirmation that never comes, on Temporal's time-skipping test server (the whole
 *   stack — API, workers, activities — talks to that server, and the test skips the 15 minutes);
 * - a provider nobody can reach (the payments worker points at a closed port);
 * - forged, expired, tampered and replayed webhooks against a running checkout;
 * - and the money of every order made here adds up.
 *
 * Three stacks share the database and the sandbox provider, each on its own task queues: `crash` (API in
 * this process, workers as child processes the test kills), `down` (a payments worker that cannot reach
 * the provider) and `skip` (on the time-skipping server). The provider sends its webhooks to `crash`'s API.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq, inArray } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { reservations, stockLevels } from '../../db/schema/inventory';
import { webhookInbox } from '../../db/schema/ops';
import { orderRecords } from '../../db/schema/orders';
import { ledgerEntries, paymentRecords } from '../../db/schema/payments';
import { signatureHeader, signWebhook } from '../../payments/webhook-signature';
import type { PaymentWebhookEvent } from '../../payments/provider';
import type { Config } from '../../platform/config';
import { searchAttributes } from '../../temporal-config/search-attributes';
import { checkoutWorkflowId } from '../../workflows/orders/definitions';
import { paymentStateQuery, paymentWorkflowId, type PaymentOutcome } from '../../workflows/payments/definitions';
import { json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, spawnWorkerProcess, startApi, startWorker, testConfig, waitFor } from '../support/stack';

type CheckoutResult = { orderId: string; status: string; reason?: string; totalAmount: number; currency: string; nextAction?: { type: string; url: string } };
type Order = { id: string; status: string; statusReason: string | null; totalAmount: number; history: { status: string; reason: string | null }[] };
type Api = Awaited<ReturnType<typeof startApi>>;

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `CF-${run}-${name}`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };
const terminal = ['CONFIRMED', 'FAILED', 'CANCELLED'];
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

/** One API and its task queues: the helpers a shopper (and ops) use against it. */
function shopAt(api: Api) {
  const url = (path: string) => `${api.baseUrl}${path}`;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const orderOf = async (customer: SignedIn, orderId: string) => json<Order>(await fetch(url(`/v1/orders/${orderId}`), { headers: customer.headers }), 200);
  return {
    url,
    post,
    orderOf,
    async cartWith(customer: SignedIn, lines: Record<string, number>): Promise<string> {
      const opened = await post('/v1/carts', { currency: 'EUR' }, customer.headers);
      const cart = await json<{ id: string }>(opened, opened.status === 200 ? 200 : 201);
      for (const [line, quantity] of Object.entries(lines)) {
        await json(await fetch(url(`/v1/carts/${cart.id}/lines/${line}`), { method: 'PUT', headers: { ...customer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ quantity }) }), 200);
      }
      return cart.id;
    },
    checkout: (customer: SignedIn, cartId: string, paymentToken: string, extra: Record<string, unknown> = {}) =>
      post('/v1/checkout', { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken, ...extra }, { ...customer.headers, 'idempotency-key': randomUUID() }),
    untilStatus: (customer: SignedIn, orderId: string, statuses: string[], timeoutMs = 90_000) =>
      waitFor(async () => {
        const order = await orderOf(customer, orderId);
        return statuses.includes(order.status) ? order : undefined;
      }, { what: `order ${orderId} to reach ${statuses.join('/')}`, timeoutMs, intervalMs: 200 }),
    async restoredCart(customer: SignedIn) {
      return waitFor(async () => {
        const response = await fetch(url('/v1/me/cart'), { headers: customer.headers });
        if (response.status !== 200) return undefined;
        const cart = (await response.json()) as { id: string; lines: { sku: string; quantity: number }[] };
        return cart.lines.length > 0 ? cart : undefined;
      }, { what: 'the lines back in an open cart' });
    },
  };
}

describe('checkout failures', () => {
  let psp: SandboxProvider;
  let crashConfig: Config;
  let crashApi: Api;
  let downConfig: Config;
  let downApi: Api;
  let downWorker: Awaited<ReturnType<typeof startWorker>>;
  let skipEnv: TestWorkflowEnvironment;
  let skipConfig: Config;
  let skipApi: Api;
  let skipWorker: Awaited<ReturnType<typeof startWorker>>;
  const workerProcesses: ChildProcess[] = [];
  const killedByTest = new Set<ChildProcess>();
  /** Worker processes that ended without the test killing them: a crash the test did not ask for. */
  const unexpectedExits: string[] = [];
  /** Every order this file made: the money test at the end looks at each. */
  const ordersMade: string[] = [];
  const db = () => crashApi.deps.db;

  before(async () => {
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    // Worker processes read their configuration from the environment, as `npm run worker` does.
    Object.assign(process.env, { WEBHOOK_SIGNING_SECRET: webhookSecret, PAYMENT_PROVIDER_URL: psp.baseUrl, PAYMENT_PROVIDER_API_KEY: psp.apiKey });

    crashConfig = testConfig('cf-crash', { API_PORT: String(apiPort) });
    crashApi = await startApi(crashConfig);

    // Nothing listens on this port: every call to the provider is refused at once.
    const closedPort = await freePort();
    downConfig = testConfig('cf-down', { PAYMENT_PROVIDER_URL: `http://127.0.0.1:${closedPort}`, WORKER_METRICS_PORT: String(await freePort()) });
    downApi = await startApi(downConfig);
    downWorker = await startWorker(downConfig);

    skipEnv = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER_PATH! } } });
    // The test server keeps no namespaces or search attributes of its own: register the ones the checkout keeps current.
    await skipEnv.connection.operatorService.addSearchAttributes({
      namespace: skipEnv.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.entries(searchAttributes).map(([name, type]) => [name, IndexedValueType[`INDEXED_VALUE_TYPE_${type}`]])),
    });
    skipConfig = testConfig('cf-skip', { TEMPORAL_ADDRESS: skipEnv.connection.options.address, TEMPORAL_NAMESPACE: skipEnv.namespace ?? 'default' });
    skipApi = await startApi(skipConfig);
    skipWorker = await startWorker(skipConfig);

    await db().transaction(async (tx) => {
      for (const name of ['CRASH', 'HOOK', 'DOWN', 'SKIP']) {
        await upsertProduct(tx, {
          slug: `cf-${name.toLowerCase()}-${run.toLowerCase()}`,
          title: `Tasse ${name}`,
          description: '',
          status: 'published',
          attributes: {},
          categories: [],
          variants: [{ sku: sku(name), title: `Tasse ${name}`, options: {}, prices: [{ currency: 'EUR', amount: 1500 }] }],
        });
      }
    });
    await setStockLevels(db(), ['CRASH', 'HOOK', 'DOWN', 'SKIP'].map((name) => ({ sku: sku(name), location: 'paris', onHand: 50 })));
  });

  after(async () => {
    for (const child of workerProcesses) {
      killedByTest.add(child);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await skipWorker?.stop();
    await skipApi?.stop();
    await skipEnv?.teardown();
    await downWorker?.stop();
    await downApi?.stop();
    await crashApi?.stop();
    await psp?.stop();
  });

  async function spawnWorkers(): Promise<ChildProcess> {
    const child = await spawnWorkerProcess(crashConfig, 'workers/all.ts');
    workerProcesses.push(child);
    child.once('exit', (code, signal) => {
      if (!killedByTest.has(child)) unexpectedExits.push(`worker process ${child.pid} exited by itself (${code ?? signal})`);
    });
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    killedByTest.add(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async function stock(line: string) {
    const rows = await db().select().from(stockLevels).where(eq(stockLevels.sku, line));
    return { onHand: rows.reduce((sum, row) => sum + row.onHand, 0), reserved: rows.reduce((sum, row) => sum + row.reserved, 0) };
  }

  async function ledger(orderId: string) {
    const rows = await db().select().from(ledgerEntries).where(eq(ledgerEntries.orderId, orderId));
    const sum = (kind: string) => rows.filter((row) => row.kind === kind).reduce((total, row) => total + row.amount, 0);
    const count = (kind: string) => rows.filter((row) => row.kind === kind).length;
    return { authorised: sum('authorised'), captured: sum('captured'), refunded: sum('refunded'), captures: count('captured') };
  }

  async function placed(response: Response): Promise<CheckoutResult> {
    const result = await json<CheckoutResult>(response, 201);
    ordersMade.push(result.orderId);
    return result;
  }

  // ---- 3. The provider cannot be reached (started first: its bounded retries take two minutes of real time) ----
  let outage: { customer: SignedIn; cartId: string; placed: CheckoutResult; stockBefore: { onHand: number; reserved: number } } | undefined;

  test('provider unreachable: the checkout still answers at once, PAYMENT_PENDING, with the stock held', async () => {
    const shop = shopAt(downApi);
    const customer = await signedInAs(downConfig, 'customer');
    const stockBefore = await stock(sku('DOWN'));
    const cartId = await shop.cartWith(customer, { [sku('DOWN')]: 2 });
    const answer = await placed(await shop.checkout(customer, cartId, await psp.tokenise(testCards.success)));
    assert.equal(answer.status, 'PAYMENT_PENDING');
    assert.equal((await stock(sku('DOWN'))).reserved, stockBefore.reserved + 2);
    outage = { customer, cartId, placed: answer, stockBefore };
  });

  // ---- 1. Workers killed mid-saga -------------------------------------------------------------------------------
  test('worker killed mid-saga, three times: the order still ends CONFIRMED, captured once, its history intact', async () => {
    const shop = shopAt(crashApi);
    const ops = await signedInAs(crashConfig, 'ops');
    const customer = await signedInAs(crashConfig, 'customer');
    const first = await spawnWorkers();
    const cartId = await shop.cartWith(customer, { [sku('CRASH')]: 1 });
    // 3-D Secure, and a billing country that sends the order to fraud review: two points where the saga waits for news.
    const order = await placed(await shop.checkout(customer, cartId, await psp.tokenise(testCards.threeDSecure), { billingCountry: 'BE' }));
    assert.equal(order.status, 'AWAITING_CONFIRMATION');
    const [payment] = await psp.paymentsOf(order.orderId);
    assert.equal(payment!.status, 'requires_action');

    // Kill 1: while waiting for the shopper's confirmation. The provider's webhook comes while no worker runs.
    await kill(first);
    await psp.confirm(payment!.id, 'succeed');
    const authorisedEvent = await waitFor(async () => (await psp.payment(payment!.id)).events.find((event) => event.type === 'payment.authorised'), { what: 'the authorised event' });
    const stored = await waitFor(async () => {
      const [row] = await db().select().from(webhookInbox).where(eq(webhookInbox.eventId, authorisedEvent.id));
      return row?.status === 'delivered' ? row : undefined;
    }, { what: 'the webhook stored and signalled with no worker running' });
    assert.equal(stored.eventType, 'payment.authorised');
    assert.equal((await shop.orderOf(customer, order.orderId)).status, 'AWAITING_CONFIRMATION', 'nothing moves without a worker');

    // Kill 2: the new worker takes the saga on to fraud review, where it waits for a human; killed there,
    // the decision is sent while no worker runs.
    const second = await spawnWorkers();
    await shop.untilStatus(customer, order.orderId, ['FRAUD_REVIEW', ...terminal]);
    await kill(second);
    assert.equal((await shop.post(`/v1/admin/orders/${order.orderId}/fraud-decision`, { decision: 'approve' }, ops.headers)).status, 202);

    // Kill 3: in the middle of recording PAID. The test holds a lock that stops every write of a status
    // history line, waits until the worker is inside that activity for this order — its status written,
    // or held in the activity's open transaction, and its history line waiting for the lock — kills the
    // worker and ends the database sessions stuck behind the lock (a crash between two statements), then
    // lets go. Any other worker stuck there meanwhile only sees its connection drop, and retries.
    const { sql } = crashApi.deps;
    const locker = await sql.reserve();
    try {
      const lockerPid = (await locker<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
      await locker`BEGIN`;
      await locker`LOCK TABLE orders.status_history IN SHARE MODE`;
      const third = await spawnWorkers();
      await waitFor(async () => {
        const [blocked] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${lockerPid} = ANY(pg_blocking_pids(pid)) AND query ILIKE '%status_history%'`;
        if (!blocked || blocked.n === 0) return false;
        const [row] = await sql<{ status: string }[]>`SELECT status FROM orders.orders WHERE id = ${order.orderId}`;
        if (row?.status === 'PAID') return true;
        // Not committed yet: then the worker's transaction holds the order's row.
        const free = await sql`SELECT id FROM orders.orders WHERE id = ${order.orderId} FOR NO KEY UPDATE SKIP LOCKED`;
        return free.length === 0;
      }, { what: 'the worker stuck recording PAID', timeoutMs: 60_000 });
      // PAID comes after the capture.
      assert.equal((await psp.payment(payment!.id)).captureCount, 1);
      await kill(third);
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${lockerPid} = ANY(pg_blocking_pids(pid))`;
    } finally {
      await locker`ROLLBACK`.catch(() => undefined);
      locker.release();
    }
    // The killed activity times out (30 s start-to-close) and runs again on the next worker.
    await spawnWorkers();
    const done = await shop.untilStatus(customer, order.orderId, terminal, 120_000);
    assert.equal(done.status, 'CONFIRMED', done.statusReason ?? '');
    assert.deepEqual(done.history.map((entry) => entry.status), ['PENDING', 'PAYMENT_PENDING', 'AWAITING_CONFIRMATION', 'FRAUD_REVIEW', 'PAID', 'CONFIRMED']);

    const atProvider = await psp.payment(payment!.id);
    assert.equal(atProvider.captureCount, 1);
    assert.equal(atProvider.capturedAmount, order.totalAmount);
    assert.deepEqual(await ledger(order.orderId), { authorised: order.totalAmount, captured: order.totalAmount, refunded: 0, captures: 1 });
    // The crashes really happened mid-flight: Temporal timed a task out on a dead worker, or ran an activity again.
    const history = await crashApi.deps.temporal.client.workflow.getHandle(checkoutWorkflowId(crashConfig.TASK_QUEUE_PREFIX, cartId)).fetchHistory();
    const events = history.events ?? [];
    assert.ok(events.some((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1), 'an activity was attempted again after the kill');
  });

  // ---- 4. Forged, expired, tampered and replayed webhooks against a running checkout ---------------------------
  test('webhooks: forged, tampered and expired are refused (401) and move nothing; a replay is a 200 duplicate, captured once', async () => {
    const shop = shopAt(crashApi);
    // The last worker process of the crash test runs this checkout.
    assert.deepEqual(unexpectedExits, []);
    const customer = await signedInAs(crashConfig, 'customer');
    const order = await placed(await shop.checkout(customer, await shop.cartWith(customer, { [sku('HOOK')]: 1 }), await psp.tokenise(testCards.threeDSecure)));
    assert.equal(order.status, 'AWAITING_CONFIRMATION');
    const [payment] = await psp.paymentsOf(order.orderId);
    const payments = crashApi.deps.temporal.client.workflow.getHandle(paymentWorkflowId(crashConfig.TASK_QUEUE_PREFIX, order.orderId));
    const send = (raw: string, header: string) => fetch(shop.url('/v1/webhooks/payments'), { method: 'POST', headers: { 'content-type': 'application/json', [signatureHeader]: header }, body: raw });
    const now = () => Math.floor(Date.now() / 1000);
    // What the provider would say if the shopper had confirmed: an attacker's wish.
    const wish = (id: string): PaymentWebhookEvent => ({
      id,
      type: 'payment.authorised',
      createdAt: new Date().toISOString(),
      data: { providerPaymentId: payment!.id, orderId: order.orderId, amount: order.totalAmount, currency: 'EUR' },
    });

    const forged = JSON.stringify(wish(`evt_forged_${randomUUID()}`));
    const forgedProblem = await problem(await send(forged, signWebhook(`whsec_${randomBytes(24).toString('base64url')}`, forged, now())), 401);
    assert.deepEqual(forgedProblem.errors?.map((error) => error.field), [signatureHeader.toLowerCase()]);
    const genuine = JSON.stringify(wish(`evt_tampered_${randomUUID()}`));
    const tampered = genuine.replace(`"amount":${order.totalAmount}`, '"amount":1');
    assert.notEqual(tampered, genuine);
    await problem(await send(tampered, signWebhook(psp.webhookSecret, genuine, now())), 401);
    const stale = JSON.stringify(wish(`evt_stale_${randomUUID()}`));
    const staleProblem = await problem(await send(stale, signWebhook(psp.webhookSecret, stale, now() - 6 * 60)), 401);
    assert.match(staleProblem.detail ?? '', /5 minutes/);
    await problem(await send(stale, 't=1700000000'), 401);

    // The route answers only after storing and signalling: a refused event is nowhere, now or later.
    const refusedIds = [forged, tampered, stale].map((raw) => (JSON.parse(raw) as PaymentWebhookEvent).id);
    assert.deepEqual(await db().select().from(webhookInbox).where(inArray(webhookInbox.eventId, refusedIds)), []);
    const waiting = await payments.query(paymentStateQuery);
    assert.equal(waiting.status, 'requires_action');
    assert.deepEqual(waiting.eventsSeen, []);
    assert.equal((await shop.orderOf(customer, order.orderId)).status, 'AWAITING_CONFIRMATION');
    assert.equal((await psp.payment(payment!.id)).status, 'requires_action');

    // The shopper confirms for real; the genuine webhooks take the order to CONFIRMED.
    await psp.confirm(payment!.id, 'succeed');
    const done = await shop.untilStatus(customer, order.orderId, terminal);
    assert.equal(done.status, 'CONFIRMED', done.statusReason ?? '');
    // Every event the provider sent (authorised, then captured) has reached the inbox once.
    const sent = await waitFor(async () => {
      const atProvider = await psp.payment(payment!.id);
      const types = atProvider.events.map((event) => event.type);
      const delivered = new Set(atProvider.deliveries.filter((delivery) => delivery.delivered).map((delivery) => delivery.eventId));
      return types.includes('payment.captured') && atProvider.events.every((event) => delivered.has(event.id)) ? atProvider.events : undefined;
    }, { what: 'the provider to deliver its events' });

    // Replayed genuine events, signed afresh (inside the window): acknowledged as duplicates, nothing happens twice.
    for (const event of sent) {
      const raw = JSON.stringify(event);
      const replay = await json<{ received: boolean; duplicate: boolean }>(await send(raw, signWebhook(psp.webhookSecret, raw, now())), 200);
      assert.deepEqual(replay, { received: true, duplicate: true }, event.type);
    }
    const rows = await db().select().from(webhookInbox).where(inArray(webhookInbox.eventId, sent.map((event) => event.id)));
    assert.equal(rows.length, sent.length);
    assert.ok(rows.every((row) => row.status === 'delivered'), JSON.stringify(rows.map((row) => row.status)));
    const settled = await payments.query(paymentStateQuery);
    assert.equal(settled.status, 'captured');
    assert.equal(settled.eventsSeen.length, new Set(settled.eventsSeen.map((event) => event.id)).size);
    assert.equal((await psp.payment(payment!.id)).captureCount, 1);
    assert.deepEqual(await ledger(order.orderId), { authorised: order.totalAmount, captured: order.totalAmount, refunded: 0, captures: 1 });
  });

  // ---- 2. No confirmation within 15 minutes, on skipped time --------------------------------------------------
  test('no 3-D Secure confirmation within 15 minutes (time-skipping): FAILED, voided, stock and lines back', async () => {
    const shop = shopAt(skipApi);
    const customer = await signedInAs(skipConfig, 'customer');
    const stockBefore = await stock(sku('SKIP'));
    const cartId = await shop.cartWith(customer, { [sku('SKIP')]: 3 });
    const order = await placed(await shop.checkout(customer, cartId, await psp.tokenise(testCards.threeDSecure)));
    assert.equal(order.status, 'AWAITING_CONFIRMATION');
    assert.equal(order.nextAction?.type, 'redirect_to_confirm');
    assert.equal((await stock(sku('SKIP'))).reserved, stockBefore.reserved + 3);
    const [payment] = await psp.paymentsOf(order.orderId);

    const startedAt = await skipEnv.currentTimeMs();
    const wallStart = Date.now();
    // Nobody confirms. Sixteen minutes pass on the server's clock, not on ours.
    await skipEnv.sleep('16 minutes');
    const done = await shop.untilStatus(customer, order.orderId, terminal);
    assert.equal(done.status, 'FAILED');
    assert.match(done.statusReason ?? '', /confirmation_timeout/);
    const skipped = (await skipEnv.currentTimeMs()) - startedAt;
    assert.ok(skipped >= 15 * 60_000, `server time advanced ${skipped} ms`);
    assert.ok(Date.now() - wallStart < skipped, 'the 15 minutes were skipped, not waited for');

    const outcome = (await skipApi.deps.temporal.client.workflow.getHandle(paymentWorkflowId(skipConfig.TASK_QUEUE_PREFIX, order.orderId)).result()) as PaymentOutcome;
    assert.deepEqual(outcome.failure, { reason: 'confirmation_timeout', stage: 'confirmation' });
    assert.equal(outcome.captured, 0);
    const atProvider = await psp.payment(payment!.id);
    assert.equal(atProvider.captureCount, 0);
    assert.equal(atProvider.status, 'voided');
    const [record] = await db().select().from(paymentRecords).where(eq(paymentRecords.orderId, order.orderId));
    assert.equal(record?.status, 'failed');
    assert.equal(record?.failureReason, 'confirmation_timeout');
    assert.equal((await ledger(order.orderId)).captured, 0);

    await waitFor(async () => (await stock(sku('SKIP'))).reserved === stockBefore.reserved, { what: 'the reservation released' });
    const held = await db().select().from(reservations).where(eq(reservations.orderId, order.orderId));
    assert.ok(held.length > 0 && held.every((row) => row.releasedAt !== null), 'every reservation line released');
    const restored = await shop.restoredCart(customer);
    assert.notEqual(restored.id, cartId);
    assert.deepEqual(restored.lines.map((line) => [line.sku, line.quantity]), [[sku('SKIP'), 3]]);
  });

  // ---- 3, continued. -----------------------------------------------------------------------------------------------
  test('provider unreachable: after the bounded retries the order FAILS with provider_unavailable, compensated', async () => {
    assert.ok(outage, 'the unreachable-provider checkout was placed');
    const shop = shopAt(downApi);
    const { customer, placed: order, stockBefore, cartId } = outage;
    // authoriseWithinMs (2 minutes) of retries from the checkout's start, then the compensations.
    const done = await shop.untilStatus(customer, order.orderId, terminal, 180_000);
    assert.equal(done.status, 'FAILED');
    assert.match(done.statusReason ?? '', /provider_unavailable/);
    assert.deepEqual(done.history.map((entry) => entry.status), ['PENDING', 'PAYMENT_PENDING', 'FAILED']);

    const handle = downApi.deps.temporal.client.workflow.getHandle(paymentWorkflowId(downConfig.TASK_QUEUE_PREFIX, order.orderId));
    const outcome = (await handle.result()) as PaymentOutcome;
    assert.equal(outcome.failure?.reason, 'provider_unavailable');
    assert.equal(outcome.failure?.stage, 'authorise');
    assert.equal(outcome.authorised, 0);
    // Retried, not given up on at the first refusal.
    const events = (await handle.fetchHistory()).events ?? [];
    const attempts = Math.max(...events.map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0));
    assert.ok(attempts > 3, `authorisation attempted ${attempts} times`);
    const [record] = await db().select().from(paymentRecords).where(eq(paymentRecords.orderId, order.orderId));
    assert.equal(record?.status, 'failed');
    assert.equal(record?.failureReason, 'provider_unavailable');
    assert.deepEqual(await psp.paymentsOf(order.orderId), [], 'the provider never heard of it');

    await waitFor(async () => (await stock(sku('DOWN'))).reserved === stockBefore.reserved, { what: 'the reservation released' });
    const restored = await shop.restoredCart(customer);
    assert.notEqual(restored.id, cartId);
    assert.deepEqual(restored.lines.map((line) => [line.sku, line.quantity]), [[sku('DOWN'), 2]]);
  });

  // ---- 5. Money --------------------------------------------------------------------------------------------------------
  test('money adds up: every order here ended, and captured − refunded is its total when CONFIRMED, 0 otherwise', async () => {
    assert.deepEqual(unexpectedExits, []);
    const orders = await db().select().from(orderRecords).where(inArray(orderRecords.id, ordersMade));
    assert.equal(orders.length, ordersMade.length);
    assert.deepEqual(orders.map((order) => order.status).sort(), ['CONFIRMED', 'CONFIRMED', 'FAILED', 'FAILED']);
    for (const order of orders) {
      const money = await ledger(order.id);
      assert.equal(money.captured - money.refunded, order.status === 'CONFIRMED' ? order.totalAmount : 0, `order ${order.id} (${order.status})`);
      assert.ok(money.captured <= money.authorised, `order ${order.id} captured more than it authorised`);
      assert.ok(money.captures <= 1, `order ${order.id} captured ${money.captures} times`);
      const atProvider = await psp.paymentsOf(order.id);
      assert.ok(atProvider.reduce((sum, each) => sum + each.captureCount, 0) <= 1, `order ${order.id} captured twice at the provider`);
      assert.equal(atProvider.reduce((sum, each) => sum + each.capturedAmount - each.refundedAmount, 0), money.captured - money.refunded, `order ${order.id}: the provider's books and ours agree`);
    }
  });
});

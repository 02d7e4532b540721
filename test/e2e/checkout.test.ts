/**
 * The checkout end to end: HTTP API, real workers, the real sandbox payment provider sending signed
 * webhooks back to the API, real Postgres and Temporal.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { ledgerEntries } from '../../db/schema/payments';
import { stockLevels } from '../../db/schema/inventory';
import { orderRecords } from '../../db/schema/orders';
import { notificationOutbox } from '../../db/schema/notifications';
import { createCheckoutActivities } from '../../activities/orders/checkout';
import { json, problem } from '../support/http';
import { recordHistory } from '../support/histories';
import { checkoutWorkflowId } from '../../workflows/orders/definitions';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

type CheckoutResult = { orderId: string; status: string; reason?: string; totalAmount: number; currency: string; nextAction?: { type: string; url: string } };
type Order = { id: string; status: string; statusReason: string | null; totalAmount: number; history: { status: string; reason: string | null }[] };

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `CO-${run}-${name}`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

describe('checkout', () => {
  let psp: SandboxProvider;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let config: ReturnType<typeof testConfig>;

  before(async () => {
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    config = testConfig('checkout', {
      API_PORT: String(apiPort),
      WEBHOOK_SIGNING_SECRET: webhookSecret,
      PAYMENT_PROVIDER_URL: psp.baseUrl,
      PAYMENT_PROVIDER_API_KEY: psp.apiKey,
    });
    api = await startApi(config);
    worker = await startWorker(config);
    await api.deps.db.transaction(async (tx) => {
      const product = (slug: string, title: string, variantSku: string, amount: number) =>
        upsertProduct(tx, {
          slug: `${slug}-${run.toLowerCase()}`,
          title,
          description: '',
          status: 'published',
          attributes: {},
          categories: [],
          variants: [{ sku: variantSku, title, options: {}, prices: [{ currency: 'EUR', amount }] }],
        });
      await product('mug', 'Mug', sku('MUG'), 1500);
      await product('scarce', 'Édition limitée', sku('SCARCE'), 4900);
    });
    await setStockLevels(api.deps.db, [
      { sku: sku('MUG'), location: 'paris', onHand: 1000 },
      { sku: sku('SCARCE'), location: 'paris', onHand: 4 },
      { sku: sku('SCARCE'), location: 'lyon', onHand: 6 },
    ]);
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
    await psp?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  const cartsMade: string[] = [];
  async function cartWith(customer: SignedIn, lines: Record<string, number>): Promise<string> {
    const opened = await post('/v1/carts', { currency: 'EUR' }, customer.headers);
    // 200 when the customer's earlier cart is open again (a cancelled checkout gives it back).
    const cart = await json<{ id: string }>(opened, opened.status === 200 ? 200 : 201);
    cartsMade.push(cart.id);
    for (const [line, quantity] of Object.entries(lines)) {
      await json(await fetch(url(`/v1/carts/${cart.id}/lines/${line}`), { method: 'PUT', headers: { ...customer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ quantity }) }), 200);
    }
    return cart.id;
  }

  async function checkout(customer: SignedIn, cartId: string, card: string, extra: Record<string, unknown> = {}) {
    const paymentToken = await psp.tokenise(card);
    return post('/v1/checkout', { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken, ...extra }, { ...customer.headers, 'idempotency-key': randomUUID() });
  }

  const orderOf = async (customer: SignedIn, orderId: string) => json<Order>(await fetch(url(`/v1/orders/${orderId}`), { headers: customer.headers }), 200);
  const untilStatus = (customer: SignedIn, orderId: string, statuses: string[]) =>
    waitFor(async () => {
      const order = await orderOf(customer, orderId);
      return statuses.includes(order.status) ? order : undefined;
    }, { what: `order ${orderId} to reach ${statuses.join('/')}`, timeoutMs: 90_000 });

  async function stock(line: string) {
    const rows = await api.deps.db.select().from(stockLevels).where(eq(stockLevels.sku, line));
    return { onHand: rows.reduce((sum, row) => sum + row.onHand, 0), reserved: rows.reduce((sum, row) => sum + row.reserved, 0) };
  }

  async function ledger(orderId: string) {
    const rows = await api.deps.db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, orderId));
    const sum = (kind: string) => rows.filter((row) => row.kind === kind).reduce((total, row) => total + row.amount, 0);
    return { authorised: sum('authorised'), captured: sum('captured'), refunded: sum('refunded'), voided: sum('voided'), entries: rows.length };
  }

  test('happy path: the order is created at once, then paid, captured once and confirmed', async () => {
    const customer = await signedInAs(config, 'customer');
    const before = await stock(sku('MUG'));
    const cartId = await cartWith(customer, { [sku('MUG')]: 2 });
    const answer = await checkout(customer, cartId, testCards.success);
    const placed = await json<CheckoutResult>(answer, 201);
    assert.equal(answer.headers.get('location'), `/v1/orders/${placed.orderId}`);
    assert.equal(placed.totalAmount, 2 * 1500 + 490);
    assert.ok(['PAYMENT_PENDING'].includes(placed.status), placed.status);

    const order = await untilStatus(customer, placed.orderId, ['CONFIRMED', 'FAILED', 'CANCELLED']);
    assert.equal(order.status, 'CONFIRMED', order.statusReason ?? '');
    assert.deepEqual(order.history.map((entry) => entry.status), ['PENDING', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED']);
    await recordHistory(api.deps.temporal.client, checkoutWorkflowId(config.TASK_QUEUE_PREFIX, cartId), 'checkout-sealed-address');
    // The shipping address crossed Temporal sealed: nothing of it is readable in the workflow's history.
    const history = JSON.stringify(await api.deps.temporal.client.workflow.getHandle(checkoutWorkflowId(config.TASK_QUEUE_PREFIX, cartId)).fetchHistory());
    for (const part of [address.name, address.line1, address.postalCode]) {
      assert.ok(!history.includes(part) && !history.includes(Buffer.from(part).toString('base64').slice(0, 12)), `${part} is in the history`);
    }
    const [payment] = await psp.paymentsOf(placed.orderId);
    assert.equal(payment!.captureCount, 1);
    assert.equal(payment!.capturedAmount, placed.totalAmount);
    assert.deepEqual(await ledger(placed.orderId), { authorised: placed.totalAmount, captured: placed.totalAmount, refunded: 0, voided: 0, entries: 2 });
    const after = await stock(sku('MUG'));
    assert.equal(after.reserved - before.reserved, 2, 'paid units stay held for fulfilment');
    // The confirmation is queued once for the customer, and a retried step queues nothing more.
    // The message is the saga's last step, just after the CONFIRMED status.
    const queued = await waitFor(async () => {
      const rows = await api.deps.db.select().from(notificationOutbox).where(eq(notificationOutbox.dedupeKey, `order_confirmed:${placed.orderId}`));
      return rows.length > 0 ? rows : undefined;
    }, { what: 'the order confirmation queued' });
    assert.equal(queued.length, 1);
    assert.equal(queued[0]!.accountId, customer.accountId);
    const activities = createCheckoutActivities({ db: api.deps.db, config, logger: api.deps.logger });
    assert.deepEqual(await activities.notifyOrderConfirmed({ orderId: placed.orderId }), { queued: false });
    // One cart, one checkout: posting it again, even after the order is done, answers with the same order.
    assert.equal((await json<CheckoutResult>(await checkout(customer, cartId, testCards.success), 201)).orderId, placed.orderId);
  });

  test('a declined card: the order FAILS with its reason, the stock comes back and the lines return to the cart', async () => {
    const customer = await signedInAs(config, 'customer');
    const before = await stock(sku('MUG'));
    const cartId = await cartWith(customer, { [sku('MUG')]: 3 });
    const placed = await json<CheckoutResult>(await checkout(customer, cartId, testCards.decline), 201);
    const order = await untilStatus(customer, placed.orderId, ['FAILED', 'CANCELLED', 'CONFIRMED']);
    assert.equal(order.status, 'FAILED');
    assert.match(order.statusReason ?? '', /declined/);
    await waitFor(async () => (await stock(sku('MUG'))).reserved === before.reserved, { what: 'the reservation released' });
    // The lines come back in the customer's open cart; the checked-out cart stays with its failed order.
    const restored = await waitFor(async () => {
      const response = await fetch(url('/v1/me/cart'), { headers: customer.headers });
      return response.status === 200 ? ((await response.json()) as { id: string; lines: { sku: string; quantity: number }[] }) : undefined;
    }, { what: 'the restored cart' });
    assert.notEqual(restored.id, cartId);
    assert.deepEqual(restored.lines.map((line) => [line.sku, line.quantity]), [[sku('MUG'), 3]]);
    // Posting the failed checkout again answers with its order, not a second order.
    assert.equal((await json<CheckoutResult>(await checkout(customer, cartId, testCards.success), 201)).orderId, placed.orderId);
    assert.deepEqual(await ledger(placed.orderId), { authorised: 0, captured: 0, refunded: 0, voided: 0, entries: 0 });
  });

  test('3-D Secure: the answer carries the confirmation URL; duplicated webhooks still capture once', async () => {
    await psp.settings({ duplicateRate: 1 });
    try {
      const customer = await signedInAs(config, 'customer');
      const cartId = await cartWith(customer, { [sku('MUG')]: 1 });
      const placed = await json<CheckoutResult>(await checkout(customer, cartId, testCards.threeDSecure), 201);
      assert.equal(placed.status, 'AWAITING_CONFIRMATION');
      assert.equal(placed.nextAction?.type, 'redirect_to_confirm');
      const [payment] = await psp.paymentsOf(placed.orderId);
      await psp.confirm(payment!.id, 'succeed');
      const order = await untilStatus(customer, placed.orderId, ['CONFIRMED', 'FAILED', 'CANCELLED']);
      assert.equal(order.status, 'CONFIRMED', order.statusReason ?? '');
      assert.equal((await psp.payment(payment!.id)).captureCount, 1);

      assert.equal((await ledger(placed.orderId)).captured, placed.totalAmount);
    } finally {
      await psp.settings({ duplicateRate: 0 });
    }
  });

  test('cancel before capture: voided, stock released, CANCELLED; after capture the cancel is refused', async () => {
    const customer = await signedInAs(config, 'customer');
    const before = await stock(sku('MUG'));
    const cartId = await cartWith(customer, { [sku('MUG')]: 1 });
    const placed = await json<CheckoutResult>(await checkout(customer, cartId, testCards.threeDSecure), 201);
    const cancelled = await json<Order>(await post(`/v1/orders/${placed.orderId}/cancel`, { reason: 'changed my mind' }, customer.headers), 200);
    assert.equal(cancelled.status, 'CANCELLED');
    assert.equal(cancelled.statusReason, 'changed my mind');
    const [payment] = await psp.paymentsOf(placed.orderId);
    await waitFor(async () => (await psp.payment(payment!.id)).status !== 'requires_action' || undefined, { what: 'the payment to be voided' }).catch(() => undefined);
    assert.equal((await stock(sku('MUG'))).reserved, before.reserved);

    const other = await signedInAs(config, 'customer');
    await problem(await post(`/v1/orders/${placed.orderId}/cancel`, {}, other.headers), 404);
    const paidCart = await cartWith(customer, { [sku('MUG')]: 1 });
    const paid = await json<CheckoutResult>(await checkout(customer, paidCart, testCards.success), 201);
    await untilStatus(customer, paid.orderId, ['CONFIRMED']);
    await problem(await post(`/v1/orders/${paid.orderId}/cancel`, {}, customer.headers), 409);
  });

  test('the same checkout posted 20 times at once makes one order', async () => {
    const customer = await signedInAs(config, 'customer');
    const cartId = await cartWith(customer, { [sku('MUG')]: 1 });
    const paymentToken = await psp.tokenise(testCards.success);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        post('/v1/checkout', { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() }),
      ),
    );
    const bodies = await Promise.all(answers.map(async (answer) => ({ status: answer.status, body: (await answer.json()) as CheckoutResult })));
    const orderIds = new Set(bodies.filter((each) => each.status === 201).map((each) => each.body.orderId));
    assert.equal(orderIds.size, 1, JSON.stringify(bodies.map((each) => each.status)));
    const rows = await api.deps.db.select().from(orderRecords).where(eq(orderRecords.cartId, cartId));
    assert.equal(rows.length, 1);
  });

  test('50 checkouts of different carts competing for 10 units: exactly 10 orders, never below zero', async () => {
    const customers = await Promise.all(Array.from({ length: 50 }, () => signedInAs(config, 'customer')));
    const carts = await Promise.all(customers.map((customer) => cartWith(customer, { [sku('SCARCE')]: 1 })));
    const answers = await Promise.all(customers.map((customer, i) => checkout(customer, carts[i]!, testCards.success)));
    const results = await Promise.all(answers.map(async (answer) => ({ status: answer.status, body: (await answer.json()) as CheckoutResult & { type?: string } })));
    const statuses = results.map((result) => result.status);
    assert.equal(statuses.filter((status) => status === 201).length, 10, JSON.stringify(results.filter((result) => result.status !== 409).map((result) => [result.status, result.body.status ?? result.body.type])));
    assert.equal(statuses.filter((status) => status === 409).length, 40, JSON.stringify(results.filter((result) => result.status !== 201 && result.status !== 409)));
    const level = await stock(sku('SCARCE'));
    assert.deepEqual(level, { onHand: 10, reserved: 10 });
    const orders = await api.deps.db.select().from(orderRecords).where(inArray(orderRecords.cartId, carts));
    assert.equal(orders.length, 10);
    await waitFor(async () => {
      const rows = await api.deps.db.select({ status: orderRecords.status }).from(orderRecords).where(inArray(orderRecords.cartId, carts));
      return rows.every((row) => row.status === 'CONFIRMED');
    }, { what: 'the 10 orders confirmed', timeoutMs: 120_000 });
  });

  test('fraud review: mismatched countries wait for an ops decision; a rejection voids and cancels', async () => {
    const ops = await signedInAs(config, 'ops');
    const customer = await signedInAs(config, 'customer');
    const approve = await json<CheckoutResult>(await checkout(customer, await cartWith(customer, { [sku('MUG')]: 1 }), testCards.success, { billingCountry: 'US' }), 201);
    await untilStatus(customer, approve.orderId, ['FRAUD_REVIEW']);
    await problem(await post(`/v1/admin/orders/${approve.orderId}/fraud-decision`, { decision: 'approve' }, customer.headers), 403);
    assert.equal((await post(`/v1/admin/orders/${approve.orderId}/fraud-decision`, { decision: 'approve' }, ops.headers)).status, 202);
    assert.equal((await untilStatus(customer, approve.orderId, ['CONFIRMED', 'CANCELLED', 'FAILED'])).status, 'CONFIRMED');

    const reject = await json<CheckoutResult>(await checkout(customer, await cartWith(customer, { [sku('MUG')]: 1 }), testCards.success, { billingCountry: 'US' }), 201);
    await untilStatus(customer, reject.orderId, ['FRAUD_REVIEW']);
    assert.equal((await post(`/v1/admin/orders/${reject.orderId}/fraud-decision`, { decision: 'reject' }, ops.headers)).status, 202);
    const rejected = await untilStatus(customer, reject.orderId, ['CONFIRMED', 'CANCELLED', 'FAILED']);
    assert.equal(rejected.status, 'CANCELLED');
    assert.equal(rejected.statusReason, 'rejected by fraud review');
    const money = await ledger(reject.orderId);
    assert.equal(money.captured, 0);
  });

  test('bad checkout input: 4xx problems naming the field; Idempotency-Key is required', async () => {
    const customer = await signedInAs(config, 'customer');
    const cartId = await cartWith(customer, { [sku('MUG')]: 1 });
    const body = { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken: 'tok_abcdefgh' };
    const missingKey = await problem(await post('/v1/checkout', body, customer.headers), 400);
    assert.ok(missingKey.errors?.some((error) => error.field === 'idempotency-key'));
    const withKey = (extra: Record<string, unknown>) => post('/v1/checkout', { ...body, ...extra }, { ...customer.headers, 'idempotency-key': randomUUID() });
    const cardNumber = await problem(await withKey({ paymentToken: testCards.success }), 422);
    assert.deepEqual(cardNumber.errors?.map((error) => error.field), ['paymentToken']);
    assert.deepEqual((await problem(await withKey({ shippingAddress: { ...address, country: 'France' } }), 422)).errors?.map((error) => error.field), ['shippingAddress.country']);
    assert.deepEqual((await problem(await withKey({ shippingMethod: 'teleport' }), 422)).errors?.map((error) => error.field), ['shippingMethod']);
    await problem(await withKey({ cartId: randomUUID() }), 404);
    const stranger = await signedInAs(config, 'customer');
    await problem(await post('/v1/checkout', body, { ...stranger.headers, 'idempotency-key': randomUUID() }), 404);
    await problem(await post('/v1/checkout', body, { 'content-type': 'application/json', 'idempotency-key': randomUUID() }), 401);
  });

  test('money adds up: for every order here, captured − refunded is its total when confirmed, and 0 otherwise', async () => {
    const orders = await api.deps.db.select().from(orderRecords).where(inArray(orderRecords.cartId, cartsMade));
    assert.ok(orders.filter((order) => order.status === 'CONFIRMED').length >= 13, 'the tests above confirmed orders');
    for (const order of orders) {
      const money = await ledger(order.id);
      assert.equal(money.captured - money.refunded, order.status === 'CONFIRMED' ? order.totalAmount : 0, `order ${order.id} (${order.status})`);
      assert.ok(money.captured <= money.authorised, `order ${order.id} captured more than it authorised`);
    }
  });
});

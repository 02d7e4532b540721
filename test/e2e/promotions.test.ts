/**
 * Promotions in the shop, end to end over HTTP with running workers and the sandbox payment provider:
 * a coupon on the cart, the discounted checkout and its invoice; a 10-use coupon under 100 concurrent
 * checkouts; a failed checkout giving its use back; the admin preview.
 *
 * Every promotion here targets this file's own SKUs or needs its own code: the database is shared with
 * other test files, whose carts an automatic promotion would otherwise change.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { promotionById, redemptionsOf } from '../../db/promotions';
import { ledgerEntries } from '../../db/schema/payments';
import { stockLevels } from '../../db/schema/inventory';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

type Cart = {
  id: string;
  subtotalAmount: number;
  shippingAmount: number;
  discountAmount: number;
  totalAmount: number;
  lines: { sku: string; discountAmount: number }[];
  promotions: { promotionId: string; code?: string; amount: number }[];
  coupons: { code: string; applied: boolean; reason?: string }[];
};
type Order = { id: string; status: string; statusReason: string | null; totalAmount: number };
type Invoice = { totals: { grossAmount: number; vatAmount: number }; lines: { sku: string | null; discountAmount: number; grossAmount: number }[] };

const run = randomUUID().slice(0, 6).toUpperCase();
const sku = (name: string) => `PROMO-${run}-${name}`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

describe('promotions at checkout', () => {
  let psp: SandboxProvider;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let config: ReturnType<typeof testConfig>;
  let manager: SignedIn;

  before(async () => {
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    config = testConfig('promotions', { API_PORT: String(apiPort), WEBHOOK_SIGNING_SECRET: webhookSecret, PAYMENT_PROVIDER_URL: psp.baseUrl, PAYMENT_PROVIDER_API_KEY: psp.apiKey });
    api = await startApi(config);
    worker = await startWorker(config);
    manager = await signedInAs(config, 'catalog_manager');
    await api.deps.db.transaction(async (tx) => {
      for (const [name, amount] of [['MUG', 1500], ['LAMP', 4000]] as const) {
        await upsertProduct(tx, { slug: `promo-${name.toLowerCase()}-${run.toLowerCase()}`, title: name, description: '', status: 'published', attributes: {}, categories: [], variants: [{ sku: sku(name), title: name, options: {}, prices: [{ currency: 'EUR', amount }] }] });
      }
    });
    await setStockLevels(api.deps.db, [
      { sku: sku('MUG'), location: 'paris', onHand: 1000 },
      { sku: sku('LAMP'), location: 'paris', onHand: 1000 },
    ]);
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
    await psp?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  async function newPromotion(body: Record<string, unknown>): Promise<{ id: string; code: string | null }> {
    return json(await send('POST', '/v1/admin/promotions', { currency: 'EUR', ...body }, manager.headers), 201);
  }

  async function cartWith(customer: SignedIn, lines: Record<string, number>): Promise<string> {
    const opened = await send('POST', '/v1/carts', { currency: 'EUR' }, customer.headers);
    const cart = await json<{ id: string }>(opened, opened.status === 200 ? 200 : 201);
    for (const [line, quantity] of Object.entries(lines)) await json(await send('PUT', `/v1/carts/${cart.id}/lines/${line}`, { quantity }, customer.headers), 200);
    return cart.id;
  }

  const addCoupon = (customer: SignedIn, cartId: string, code: string) => send('PUT', `/v1/carts/${cartId}/coupons/${code}`, undefined, customer.headers);

  async function checkout(customer: SignedIn, cartId: string, card: string = testCards.success) {
    const paymentToken = await psp.tokenise(card);
    return send('POST', '/v1/checkout', { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() });
  }

  const untilStatus = (customer: SignedIn, orderId: string, statuses: string[]) =>
    waitFor(async () => {
      const order = await json<Order>(await fetch(url(`/v1/orders/${orderId}`), { headers: customer.headers }), 200);
      return statuses.includes(order.status) ? order : undefined;
    }, { what: `order ${orderId} to reach ${statuses.join('/')}`, timeoutMs: 120_000 });

  test('a coupon on the cart: priced at once, charged at checkout, on the invoice line by line, its use spent once paid', async () => {
    const coupon = await newPromotion({ name: 'Mugs -20 %', code: `mugs-${run}`, effect: { type: 'percent_off', basisPoints: 2000 }, target: { skus: [sku('MUG')] }, usageLimit: 5 });
    const customer = await signedInAs(config, 'customer');
    const cartId = await cartWith(customer, { [sku('MUG')]: 2, [sku('LAMP')]: 1 });

    const unknown = await problem(await addCoupon(customer, cartId, `NOPE-${run}`), 422);
    assert.deepEqual(fields(unknown), ['code']);
    assert.deepEqual(fields(await problem(await addCoupon(customer, cartId, 'a b'), 400)), ['code']);

    const cart = await json<Cart>(await addCoupon(customer, cartId, `MUGS-${run}`.toLowerCase()), 200);
    assert.deepEqual(cart.coupons, [{ code: `MUGS-${run}`, applied: true }]);
    assert.equal(cart.discountAmount, 600, '20 % of two mugs, nothing off the lamp');
    assert.deepEqual(Object.fromEntries(cart.lines.map((line) => [line.sku, line.discountAmount])), { [sku('LAMP')]: 0, [sku('MUG')]: 600 });
    assert.equal(cart.totalAmount, 3000 + 4000 - 600 + cart.shippingAmount);

    const placed = await json<{ orderId: string; totalAmount: number }>(await checkout(customer, cartId), 201);
    const shipping = placed.totalAmount - (7000 - 600);
    assert.ok(shipping >= 0);
    const order = await untilStatus(customer, placed.orderId, ['CONFIRMED', 'SHIPPED', 'COMPLETED', 'FAILED', 'CANCELLED']);
    assert.ok(['CONFIRMED', 'SHIPPED', 'COMPLETED'].includes(order.status), order.statusReason ?? order.status);
    const captured = (await api.deps.db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, placed.orderId))).filter((row) => row.kind === 'captured');
    assert.deepEqual(captured.map((row) => row.amount), [placed.totalAmount], 'the discounted total is what the card paid');

    const invoice = await waitFor(async () => {
      const answer = await fetch(url(`/v1/orders/${placed.orderId}/invoice`), { headers: customer.headers });
      return answer.status === 200 ? ((await answer.json()) as Invoice) : undefined;
    }, { what: 'the invoice' });
    assert.equal(invoice.totals.grossAmount, placed.totalAmount);
    assert.deepEqual(invoice.lines.filter((line) => line.sku).map((line) => [line.sku, line.discountAmount]).sort(), [[sku('LAMP'), 0], [sku('MUG'), 600]]);

    assert.equal((await promotionById(api.deps.db, coupon.id))!.used, 1);
    assert.deepEqual((await redemptionsOf(api.deps.db, placed.orderId)).map((r) => [r.promotionId, r.state, r.amount]), [[coupon.id, 'committed', 600]]);
  });

  test('100 concurrent checkouts with a 10-use coupon: exactly 10 orders get it, the others are refused and keep their carts', async () => {
    const coupon = await newPromotion({ name: 'Ten lucky ones', code: `TEN-${run}`, effect: { type: 'amount_off_order', amount: 500 }, usageLimit: 10 });
    // Made ten at a time (each sign-in opens a database connection); the checkouts below all go at once.
    const shoppers: { customer: SignedIn; cartId: string; paymentToken: string }[] = [];
    for (let batch = 0; batch < 10; batch++) {
      shoppers.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, async () => {
            const customer = await signedInAs(config, 'customer');
            const cartId = await cartWith(customer, { [sku('MUG')]: 1 });
            await json(await addCoupon(customer, cartId, `TEN-${run}`), 200);
            return { customer, cartId, paymentToken: await psp.tokenise(testCards.success) };
          }),
        )),
      );
    }
    const before = (await api.deps.db.select().from(stockLevels).where(eq(stockLevels.sku, sku('MUG'))))[0]!;

    const answers = await Promise.all(
      shoppers.map(async ({ customer, cartId, paymentToken }) => {
        const answer = await send('POST', '/v1/checkout', { cartId, shippingAddress: address, shippingMethod: 'standard', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() });
        return { status: answer.status, body: (await answer.json()) as { orderId?: string; type?: string; totalAmount?: number } };
      }),
    );
    const placed = answers.filter((answer) => answer.status === 201);
    const refused = answers.filter((answer) => answer.status === 409);
    assert.equal(placed.length, 10, `statuses: ${answers.map((a) => a.status).join(',')}`);
    assert.equal(refused.length, 90);
    assert.ok(refused.every((answer) => answer.body.type === 'https://comptoir.dev/problems/coupon-unavailable'), JSON.stringify(refused[0]?.body));
    // One mug (15.00), 5.00 off, standard shipping 4.90 (free only from 60.00).
    for (const answer of placed) assert.equal(answer.body.totalAmount, 1500 - 500 + 490, 'each placed order has the 5.00 off');

    const placedIds = placed.map((answer) => answer.body.orderId!);
    await Promise.all(placedIds.map((orderId, i) => untilStatus(shoppers.find((_, j) => answers[j] === placed[i])!.customer, orderId, ['CONFIRMED', 'SHIPPED', 'COMPLETED'])));
    const promotion = (await promotionById(api.deps.db, coupon.id))!;
    assert.equal(promotion.used, 10, 'the budget is exactly spent, never over');
    for (const orderId of placedIds) assert.deepEqual((await redemptionsOf(api.deps.db, orderId)).map((r) => r.state), ['committed']);
    // The refused checkouts reserved nothing that stays held: only the 10 orders' units left the shelf's free stock.
    await waitFor(async () => {
      const now = (await api.deps.db.select().from(stockLevels).where(eq(stockLevels.sku, sku('MUG'))))[0]!;
      return now.onHand - now.reserved === before.onHand - before.reserved - 10 ? now : undefined;
    }, { what: 'free stock down by exactly the 10 orders', timeoutMs: 60_000 });
    // A refused shopper still has the cart, coupon and all, and is told why it does not apply now.
    const refusedShopper = shoppers[answers.findIndex((answer) => answer.status === 409)]!;
    const cart = await json<Cart>(await fetch(url(`/v1/carts/${refusedShopper.cartId}`), { headers: refusedShopper.customer.headers }), 200);
    assert.deepEqual(cart.coupons, [{ code: `TEN-${run}`, applied: false, reason: 'usage_limit_reached' }]);
  });

  test('a checkout that fails after the order was made gives its coupon use back, once', async () => {
    const coupon = await newPromotion({ name: 'Just one', code: `ONE-${run}`, effect: { type: 'free_shipping' }, usageLimit: 1 });
    const first = await signedInAs(config, 'customer');
    const cartId = await cartWith(first, { [sku('LAMP')]: 1 });
    const bare = await json<Cart>(await addCoupon(first, cartId, `ONE-${run}`), 200);
    assert.deepEqual(bare.coupons, [{ code: `ONE-${run}`, applied: false, reason: 'nothing_to_discount' }], 'no shipping chosen yet: nothing to take off');
    const cart = await json<Cart & { shippingDiscountAmount: number }>(await fetch(url(`/v1/carts/${cartId}?shippingMethod=standard&shippingCountry=FR`), { headers: first.headers }), 200);
    assert.equal(cart.shippingAmount, 0);
    assert.equal(cart.shippingDiscountAmount, 490);
    assert.ok(cart.promotions.some((p) => p.promotionId === coupon.id && p.amount === 490));
    const declined = await json<{ orderId: string }>(await checkout(first, cartId, testCards.decline), 201);
    const failed = await untilStatus(first, declined.orderId, ['FAILED', 'CANCELLED']);
    assert.equal(failed.status, 'FAILED');
    await waitFor(async () => ((await promotionById(api.deps.db, coupon.id))!.used === 0 ? true : undefined), { what: 'the use given back' });
    assert.deepEqual((await redemptionsOf(api.deps.db, declined.orderId)).map((r) => r.state), ['released']);

    const second = await signedInAs(config, 'customer');
    const other = await cartWith(second, { [sku('LAMP')]: 1 });
    await json(await addCoupon(second, other, `ONE-${run}`), 200);
    const placed = await json<{ orderId: string }>(await checkout(second, other), 201);
    await untilStatus(second, placed.orderId, ['CONFIRMED', 'SHIPPED', 'COMPLETED']);
    assert.equal((await promotionById(api.deps.db, coupon.id))!.used, 1);
  });

  test('the admin preview prices any cart with the codes given and says why a coupon does not apply', async () => {
    await newPromotion({ name: 'Big baskets', code: `BIG-${run}`, effect: { type: 'percent_off', basisPoints: 1000 }, minSpend: 100_000 });
    await newPromotion({ name: 'Lamps -10.00', code: `LAMP-${run}`, effect: { type: 'amount_off_each', amount: 1000 }, target: { skus: [sku('LAMP')] } });
    const customer = await signedInAs(config, 'customer');
    const cartId = await cartWith(customer, { [sku('LAMP')]: 2 });
    const preview = await json<Cart>(await send('POST', '/v1/admin/promotions/preview', { cartId, couponCodes: [`big-${run}`, `LAMP-${run}`] }, manager.headers), 200);
    assert.equal(preview.discountAmount, 2000);
    assert.deepEqual(preview.coupons, [{ code: `BIG-${run}`, applied: false, reason: 'min_spend_not_reached' }, { code: `LAMP-${run}`, applied: true }]);
    const untouched = await json<Cart>(await fetch(url(`/v1/carts/${cartId}`), { headers: customer.headers }), 200);
    assert.deepEqual(untouched.coupons, [], 'a preview changes nothing on the cart');
    assert.deepEqual(fields(await problem(await send('POST', '/v1/admin/promotions/preview', { cartId: randomUUID() }, manager.headers), 422)), ['cartId']);
    assert.deepEqual(fields(await problem(await send('POST', '/v1/admin/promotions/preview', { cartId, shippingMethod: 'standard' }, manager.headers), 422)), ['shippingCountry']);
    await problem(await send('POST', '/v1/admin/promotions/preview', { cartId }, customer.headers), 403);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { expireIdleCarts } from '../../db/carts';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { carts } from '../../db/schema/orders';
import { signedInAs } from '../support/identity';
import { fields, json, problem } from '../support/http';
import { startWorker, testConfig, waitFor } from '../support/stack';
import { Client } from '@temporalio/client';
import { ensureCartExpirySchedule } from '../../workers/orders-schedules';

const config = testConfig('carts');
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

type Cart = {
  id: string;
  status: string;
  owner: string;
  token?: string;
  currency: string;
  lines: { sku: string; title: string; quantity: number; unitAmount: number; lineAmount: number; taxAmount: number; available: number; problem?: string }[];
  subtotalAmount: number;
  shippingAmount: number;
  taxAmount: number;
  totalAmount: number;
  purchasable: boolean;
};

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `CART-${run}-${name}`;
const base = 'http://local';

async function call(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
  return app.request(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
}

async function newAnonymousCart(currency = 'EUR') {
  const cart = await json<Cart>(await call('POST', '/v1/carts', { body: { currency } }), 201);
  assert.match(cart.token ?? '', /^cart_/);
  return { cart, headers: { 'x-cart-token': cart.token! } };
}

describe('carts', () => {
  before(async () => {
    await deps.db.transaction(async (tx) => {
      const product = (slug: string, title: string, status: 'draft' | 'published', variants: { sku: string; amount: number }[]) =>
        upsertProduct(tx, {
          slug: `${slug}-${run.toLowerCase()}`,
          title,
          description: '',
          status,
          attributes: {},
          categories: [],
          variants: variants.map((variant) => ({ sku: variant.sku, title: title, options: {}, prices: [{ currency: 'EUR', amount: variant.amount }] })),
        });
      await product('teapot', 'Théière', 'published', [{ sku: sku('TEAPOT'), amount: 2990 }]);
      await product('cup', 'Tasse', 'published', [{ sku: sku('CUP'), amount: 850 }]);
      await product('secret', 'Prototype', 'draft', [{ sku: sku('DRAFT'), amount: 1000 }]);
    });
    await setStockLevels(deps.db, [
      { sku: sku('TEAPOT'), location: 'paris', onHand: 3 },
      { sku: sku('TEAPOT'), location: 'lyon', onHand: 2 },
      { sku: sku('CUP'), location: 'paris', onHand: 100 },
    ]);
  });

  test('an anonymous cart is priced on the server and reached only with its token', async () => {
    const { cart, headers } = await newAnonymousCart();
    assert.equal(cart.owner, 'anonymous');
    const withLines = await json<Cart>(await call('PUT', `/v1/carts/${cart.id}/lines/${sku('TEAPOT')}`, { headers, body: { quantity: 2 } }), 200);
    await json<Cart>(await call('PUT', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers, body: { quantity: 3 } }), 200);
    assert.deepEqual(withLines.lines.map((line) => [line.sku, line.quantity, line.unitAmount, line.lineAmount, line.available]), [[sku('TEAPOT'), 2, 2990, 5980, 5]]);
    const priced = await json<Cart>(await call('GET', `/v1/carts/${cart.id}`, { headers }), 200);
    assert.equal(priced.subtotalAmount, 2 * 2990 + 3 * 850);
    assert.equal(priced.totalAmount, priced.subtotalAmount, 'no shipping before a destination is known');
    assert.equal(priced.purchasable, true);
    assert.equal(priced.token, undefined, 'the token is shown once, at creation');

    // Someone else's cart looks exactly like a missing one.
    const stranger = await signedInAs(config, 'customer');
    for (const others of [{}, { 'x-cart-token': 'cart_forged' }, stranger.headers, { 'x-cart-token': (await newAnonymousCart()).cart.token! }]) {
      await problem(await call('GET', `/v1/carts/${cart.id}`, { headers: others }), 404);
      await problem(await call('PUT', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers: others, body: { quantity: 1 } }), 404);
    }
    await problem(await call('GET', `/v1/carts/${randomUUID()}`, { headers }), 404);
  });

  test('shipping and VAT follow the destination; standard shipping is free above the threshold', async () => {
    const { cart, headers } = await newAnonymousCart();
    await call('PUT', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers, body: { quantity: 1 } });
    const fr = await json<Cart>(await call('GET', `/v1/carts/${cart.id}?shippingMethod=standard&shippingCountry=FR`, { headers }), 200);
    assert.equal(fr.shippingAmount, 490);
    assert.equal(fr.totalAmount, 850 + 490);
    // 20 % VAT included: 850 → 142 (141.67), 490 → 82 (81.67).
    assert.equal(fr.taxAmount, 142 + 82);
    const de = await json<Cart>(await call('GET', `/v1/carts/${cart.id}?shippingMethod=standard&shippingCountry=DE`, { headers }), 200);
    assert.equal(de.taxAmount, 136 + 78, '19 % in Germany');
    const us = await json<Cart>(await call('GET', `/v1/carts/${cart.id}?shippingMethod=express&shippingCountry=US`, { headers }), 200);
    assert.equal(us.taxAmount, 0, 'no VAT on exports');
    assert.equal(us.shippingAmount, 1290);
    await call('PUT', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers, body: { quantity: 8 } });
    const free = await json<Cart>(await call('GET', `/v1/carts/${cart.id}?shippingMethod=standard&shippingCountry=FR`, { headers }), 200);
    assert.equal(free.subtotalAmount, 6800);
    assert.equal(free.shippingAmount, 0);
  });

  test('stock is a hint: more than is in stock is shown as a problem, not refused', async () => {
    const { cart, headers } = await newAnonymousCart();
    const over = await json<Cart>(await call('PUT', `/v1/carts/${cart.id}/lines/${sku('TEAPOT')}`, { headers, body: { quantity: 6 } }), 200);
    assert.equal(over.lines[0]!.problem, 'quantity_above_stock');
    assert.equal(over.purchasable, false);
  });

  test('bad lines and bad input are 4xx problems naming the field', async () => {
    const { cart, headers } = await newAnonymousCart();
    const put = (line: string, body: unknown) => call('PUT', `/v1/carts/${cart.id}/lines/${encodeURIComponent(line)}`, { headers, body });
    assert.deepEqual(fields(await problem(await put(sku('NOPE'), { quantity: 1 }), 422)), ['sku']);
    assert.deepEqual(fields(await problem(await put(sku('DRAFT'), { quantity: 1 }), 422)), ['sku']);
    const pounds = await newAnonymousCart('GBP');
    const noPrice = await call('PUT', `/v1/carts/${pounds.cart.id}/lines/${sku('CUP')}`, { headers: pounds.headers, body: { quantity: 1 } });
    assert.deepEqual(fields(await problem(noPrice, 422)), ['sku'], 'no price in the cart currency');
    for (const quantity of [0, 21, 1.5, '2']) assert.deepEqual(fields(await problem(await put(sku('CUP'), { quantity }), 422)), ['quantity']);
    assert.deepEqual(fields(await problem(await put(sku('CUP'), { quantity: 1, unitAmount: 1 }), 422)), ['unitAmount'], 'prices never come from the client');
    assert.deepEqual(fields(await problem(await call('POST', '/v1/carts', { body: { currency: 'eur' } }), 422)), ['currency']);
    assert.deepEqual(fields(await problem(await call('GET', `/v1/carts/${cart.id}?shippingCountry=France`, { headers }), 400)), ['shippingCountry']);
    await problem(await call('GET', '/v1/carts/not-a-uuid', { headers }), 400);
    await problem(await call('DELETE', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers }), 404);
  });

  test('a customer has one open cart, even when asked for twice at once', async () => {
    const me = await signedInAs(config, 'customer');
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => call('POST', '/v1/carts', { headers: me.headers, body: { currency: 'EUR' } })));
    const statuses = answers.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 201]);
    const ids = new Set(await Promise.all(answers.map(async (response) => ((await response.json()) as Cart).id)));
    assert.equal(ids.size, 1);
    const mine = await json<Cart>(await call('GET', '/v1/me/cart', { headers: me.headers }), 200);
    assert.equal(mine.owner, 'customer');
    assert.equal(mine.token, undefined);
  });

  test('after sign-in the anonymous cart joins the customer\'s, once; its token stops working', async () => {
    const me = await signedInAs(config, 'customer');
    const mine = await json<Cart>(await call('POST', '/v1/carts', { headers: me.headers, body: { currency: 'EUR' } }), 201);
    await call('PUT', `/v1/carts/${mine.id}/lines/${sku('CUP')}`, { headers: me.headers, body: { quantity: 15 } });
    const { cart: anonymous, headers } = await newAnonymousCart();
    await call('PUT', `/v1/carts/${anonymous.id}/lines/${sku('CUP')}`, { headers, body: { quantity: 9 } });
    await call('PUT', `/v1/carts/${anonymous.id}/lines/${sku('TEAPOT')}`, { headers, body: { quantity: 1 } });

    const merged = await json<Cart>(await call('POST', '/v1/me/cart/claim', { headers: { ...me.headers, ...headers } }), 200);
    assert.equal(merged.id, mine.id);
    assert.deepEqual(merged.lines.map((line) => [line.sku, line.quantity]), [[sku('CUP'), 20], [sku('TEAPOT'), 1]], 'summed, capped at 20');
    const again = await json<Cart>(await call('POST', '/v1/me/cart/claim', { headers: { ...me.headers, ...headers } }), 200);
    assert.deepEqual(again.lines.map((line) => [line.sku, line.quantity]), [[sku('CUP'), 20], [sku('TEAPOT'), 1]], 'claiming again adds nothing');
    await problem(await call('GET', `/v1/carts/${anonymous.id}`, { headers }), 404);
    const [row] = await deps.db.select().from(carts).where(eq(carts.id, anonymous.id));
    assert.equal(row!.status, 'merged');

    // A customer without a cart adopts the anonymous one as it is.
    const newcomer = await signedInAs(config, 'customer');
    const { cart: theirs, headers: theirHeaders } = await newAnonymousCart();
    await call('PUT', `/v1/carts/${theirs.id}/lines/${sku('CUP')}`, { headers: theirHeaders, body: { quantity: 2 } });
    const adopted = await json<Cart>(await call('POST', '/v1/me/cart/claim', { headers: { ...newcomer.headers, ...theirHeaders } }), 200);
    assert.equal(adopted.id, theirs.id);
    assert.equal(adopted.owner, 'customer');
    await problem(await call('POST', '/v1/me/cart/claim', { headers: theirHeaders }), 401);
  });

  test('carts idle for 30 days expire and can no longer change', async () => {
    const { cart, headers } = await newAnonymousCart();
    await deps.db.update(carts).set({ lastActivityAt: sql`now() - interval '31 days'` }).where(eq(carts.id, cart.id));
    const expired = await expireIdleCarts(deps.db, new Date(Date.now() - 30 * 86_400_000), 1000);
    assert.ok(expired >= 1);
    assert.equal((await json<Cart>(await call('GET', `/v1/carts/${cart.id}`, { headers }), 200)).status, 'expired');
    await problem(await call('PUT', `/v1/carts/${cart.id}/lines/${sku('CUP')}`, { headers, body: { quantity: 1 } }), 409);
    assert.equal(await expireIdleCarts(deps.db, new Date(Date.now() - 30 * 86_400_000), 1000), 0, 'expiring again changes nothing');
  });

  test('the hourly Schedule expires idle carts through Temporal', async () => {
    const { cart, headers } = await newAnonymousCart();
    const fresh = await newAnonymousCart();
    await deps.db.update(carts).set({ lastActivityAt: sql`now() - interval '40 days'` }).where(eq(carts.id, cart.id));
    const worker = await startWorker(config);
    try {
      const scheduleId = await ensureCartExpirySchedule(worker.context);
      await ensureCartExpirySchedule(worker.context);
      const handle = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE }).schedule.getHandle(scheduleId);
      assert.equal((await handle.describe()).spec.intervals?.[0]?.every, 3_600_000);
      await handle.trigger();
      await waitFor(async () => (await json<Cart>(await call('GET', `/v1/carts/${cart.id}`, { headers }), 200)).status === 'expired', { what: 'the idle cart expired' });
      assert.equal((await json<Cart>(await call('GET', `/v1/carts/${fresh.cart.id}`, { headers: fresh.headers }), 200)).status, 'open');
      await handle.delete();
    } finally {
      await worker.stop();
    }
  });
});

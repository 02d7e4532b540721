/**
 * Load shedding at the checkout: past CHECKOUT_MAX_IN_FLIGHT placements in one API process, a checkout
 * is answered 503 with Retry-After at once, starts nothing, and the same request sent again later goes
 * through. (Here the bound is 1, and the placement in flight is one whose provider never answers.)
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { orderOfCart } from '../../db/orders';
import { json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig } from '../support/stack';

const run = randomUUID().slice(0, 6).toUpperCase();
const sku = `BUSY-${run}-MUG`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

let psp: SandboxProvider;
let api: Awaited<ReturnType<typeof startApi>>;
let worker: Awaited<ReturnType<typeof startWorker>>;

before(async () => {
  const apiPort = await freePort();
  const webhookSecret = randomBytes(32).toString('base64url');
  psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
  const config = testConfig('checkout-admission', {
    API_PORT: String(apiPort),
    WEBHOOK_SIGNING_SECRET: webhookSecret,
    PAYMENT_PROVIDER_URL: psp.baseUrl,
    PAYMENT_PROVIDER_API_KEY: psp.apiKey,
    CHECKOUT_MAX_IN_FLIGHT: '1',
  });
  api = await startApi(config);
  worker = await startWorker(config);
  await api.deps.db.transaction((tx) =>
    upsertProduct(tx, { slug: `busy-${run.toLowerCase()}`, title: 'Mug', description: '', status: 'published', attributes: {}, categories: [], variants: [{ sku, title: 'Mug', options: {}, prices: [{ currency: 'EUR', amount: 1500 }] }] }),
  );
  await setStockLevels(api.deps.db, [{ sku, location: 'paris', onHand: 100 }]);
});

after(async () => {
  await worker?.stop();
  await api?.stop();
  await psp?.stop();
});

const url = (path: string) => `${api.baseUrl}${path}`;
const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
  fetch(url(path), { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function cartOf(customer: SignedIn): Promise<string> {
  const cart = await json<{ id: string }>(await send('POST', '/v1/carts', { currency: 'EUR' }, customer.headers), 201);
  await json(await send('PUT', `/v1/carts/${cart.id}/lines/${sku}`, { quantity: 1 }, customer.headers), 200);
  return cart.id;
}

test('past the bound a checkout is shed with 503 and Retry-After, starts nothing, and goes through when sent again', async () => {
  const slow = await signedInAs(api.deps.config, 'customer');
  const next = await signedInAs(api.deps.config, 'customer');
  const slowCart = await cartOf(slow);
  const nextCart = await cartOf(next);
  const slowToken = await psp.tokenise(testCards.timeout);
  const nextRequest = { cartId: nextCart, shippingAddress: address, shippingMethod: 'standard', paymentToken: await psp.tokenise(testCards.success) };
  const key = randomUUID();

  // The provider never answers this card in time: the placement waits for its first answer, holding the one slot.
  const inFlight = send('POST', '/v1/checkout', { cartId: slowCart, shippingAddress: address, shippingMethod: 'standard', paymentToken: slowToken }, { ...slow.headers, 'idempotency-key': randomUUID() });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const shed = await send('POST', '/v1/checkout', nextRequest, { ...next.headers, 'idempotency-key': key });
  const busy = await problem(shed, 503);
  assert.equal(busy.type, 'https://comptoir.dev/problems/checkout-busy');
  assert.equal(shed.headers.get('retry-after'), '2');
  assert.equal(await orderOfCart(api.deps.db, nextCart), undefined, 'a shed checkout started nothing');

  const first = await inFlight;
  assert.equal(first.status, 201, await first.clone().text());
  // The same request, the same Idempotency-Key: a 5xx freed the key, so it is simply carried out now.
  const placed = await json<{ orderId: string }>(await send('POST', '/v1/checkout', nextRequest, { ...next.headers, 'idempotency-key': key }), 201);
  assert.ok(placed.orderId);
});

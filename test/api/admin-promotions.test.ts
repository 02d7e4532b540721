/** Promotions admin over HTTP: create, read, list, change, retire; every bad field named; budgets guarded. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { reserveRedemptions } from '../../db/promotions';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startApi, testConfig } from '../support/stack';

type PromotionView = { id: string; code: string | null; used: number; usageLimit: number | null; active: boolean; effect: { type: string }; endsAt: string | null; links: { self: string } };

const config = testConfig('admin-promotions');
const run = randomUUID().slice(0, 6).toUpperCase();
let api: Awaited<ReturnType<typeof startApi>>;
let manager: SignedIn;

before(async () => {
  api = await startApi(config);
  manager = await signedInAs(config, 'catalog_manager');
});
after(() => api?.stop());

function call(method: string, path: string, body?: unknown, who: SignedIn = manager) {
  return fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { ...who.headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const coupon = (code: string, extra: Record<string, unknown> = {}) => ({ name: `Coupon ${code}`, code, currency: 'EUR', effect: { type: 'percent_off', basisPoints: 1000 }, ...extra });

describe('promotions admin', () => {
  test('a coupon is created (code stored upper-case), read back and listed', async () => {
    const created = await json<PromotionView>(await call('POST', '/v1/admin/promotions', coupon(`welcome-${run}`, { usageLimit: 10, perCustomerLimit: 1 })), 201);
    assert.equal(created.code, `WELCOME-${run}`);
    assert.equal(created.used, 0);
    assert.deepEqual(await json<PromotionView>(await call('GET', created.links.self), 200), created);
    // Not EUR: an automatic promotion applies to every cart in its currency, and other test files share the database.
    const automatic = await json<PromotionView>(await call('POST', '/v1/admin/promotions', { name: 'Free shipping over 50', currency: 'NOK', effect: { type: 'free_shipping' }, minSpend: 5000 }), 201);
    assert.equal(automatic.code, null);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: PromotionView[]; nextCursor: string | null } = await json(await call('GET', `/v1/admin/promotions?limit=1${cursor ? `&cursor=${cursor}` : ''}`), 200);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(seen.includes(created.id) && seen.includes(automatic.id));
    assert.equal(new Set(seen).size, seen.length, 'no promotion twice across pages');
  });

  test('every bad field is named', async () => {
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { effect: { type: 'percent_off', basisPoints: 20_000 } })), 422)), ['effect.basisPoints']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { effect: { type: 'half_price' } })), 422)), ['effect.type']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon('a b'), ), 422)), ['code']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { currency: 'euro' })), 422)), ['currency']);
    assert.deepEqual(
      fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { startsAt: '2026-12-31T00:00:00Z', endsAt: '2026-12-01T00:00:00Z' })), 422)),
      ['endsAt'],
    );
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { usageLimit: 0 })), 422)), ['usageLimit']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`X${run}`, { colour: 'red' })), 422)), ['colour']);
    assert.deepEqual(fields(await problem(await call('PATCH', `/v1/admin/promotions/${randomUUID()}`, {}), 422)), ['']);
  });

  test('a code already taken is a 409 naming code', async () => {
    await json(await call('POST', '/v1/admin/promotions', coupon(`twice-${run}`)), 201);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/promotions', coupon(`TWICE-${run}`)), 409)), ['code']);
  });

  test('a change keeps the budget: the limit cannot go below the uses held; the window is checked against the stored side', async () => {
    const created = await json<PromotionView>(await call('POST', '/v1/admin/promotions', coupon(`budget-${run}`, { usageLimit: 5, endsAt: '2027-01-01T00:00:00Z' })), 201);
    await api.deps.db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await reserveRedemptions(tx, { orderId: randomUUID(), redemptions: [{ promotionId: created.id, amount: 100 }] });
    });
    assert.deepEqual(fields(await problem(await call('PATCH', created.links.self, { usageLimit: 2 }), 409)), ['usageLimit']);
    assert.equal((await json<PromotionView>(await call('PATCH', created.links.self, { usageLimit: 3 }), 200)).usageLimit, 3);
    assert.deepEqual(fields(await problem(await call('PATCH', created.links.self, { startsAt: '2027-02-01T00:00:00Z' }), 422)), ['endsAt']);
    const retired = await json<PromotionView>(await call('PATCH', created.links.self, { active: false }), 200);
    assert.equal(retired.active, false);
    assert.equal(retired.used, 3);
  });

  test('unknown promotion → 404; customers and staff without the permission are refused', async () => {
    await problem(await call('GET', `/v1/admin/promotions/${randomUUID()}`), 404);
    await problem(await call('GET', '/v1/admin/promotions', undefined, await signedInAs(config, 'customer')), 403);
    await problem(await call('POST', '/v1/admin/promotions', coupon(`ops-${run}`), await signedInAs(config, 'ops')), 403);
    await problem(await fetch(`${api.baseUrl}/v1/admin/promotions`), 401);
  });
});

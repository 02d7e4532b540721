/**
 * `GET /v1/me/loyalty` end to end over HTTP: the API and a loyalty worker running against the Temporal
 * dev server and Postgres; news reported the way other domains will report it (signal-with-start,
 * updates, signals). What the API shows comes from the ledger: the history it pages through adds up to
 * the balance. Bad input and callers without the right are answered with problem+json.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { commitRedeemedPoints, redeemPoints, reportOrderDelivered, reportOrderRefunded, type LoyaltyReportDeps } from '../../activities/loyalty/report';
import { loyaltyTotals } from '../../db/loyalty';
import { createLoyaltyWorker } from '../../workers/queues/loyalty';
import { createWorkerContext, type WorkerContext } from '../../workers/runtime';
import { loyaltyStateQuery, loyaltyWorkflowId } from '../../workflows/loyalty/definitions';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startApi, testConfig, waitFor } from '../support/stack';

const config = testConfig('loyalty-api');

type LedgerLine = { seq: number; kind: string; points: number; reservedChange: number; orderId: string | null; at: string };
type LoyaltyView = {
  balance: number;
  reserved: number;
  available: number;
  debt: number;
  tier: { name: string; multiplier: number };
  rollingSpend: { amount: number; currency: string };
  nextTier: { tier: { name: string; multiplier: number }; threshold: { amount: number; currency: string }; missing: { amount: number; currency: string } } | null;
  expiringSoon: { points: number; before: string; lots: unknown[] };
  history: LedgerLine[];
  nextCursor: string | null;
};

describe('GET /v1/me/loyalty', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let context: WorkerContext;
  let worker: Worker;
  let running: Promise<void>;
  let deps: LoyaltyReportDeps;
  let customer: SignedIn;

  before(async () => {
    api = await startApi(config);
    context = await createWorkerContext(config);
    const bundlePath = config.WORKFLOW_BUNDLE_PATH;
    worker = await createLoyaltyWorker(context, bundlePath ? { codePath: bundlePath } : undefined);
    running = worker.run();
    deps = { client: api.deps.temporal.client, config };
    customer = await signedInAs(config, 'customer');
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await context?.close();
    await api?.stop();
  });

  const get = (path: string, headers: Record<string, string> = customer.headers) => fetch(`${api.baseUrl}${path}`, { headers });
  const post = (path: string, body: unknown, headers: Record<string, string> = customer.headers) =>
    fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('an account with nothing yet: zero points, bronze, 500.00 EUR to silver', async () => {
    const view = await json<LoyaltyView>(await get('/v1/me/loyalty'), 200);
    assert.deepEqual(
      { balance: view.balance, reserved: view.reserved, tier: view.tier, nextTier: view.nextTier, history: view.history, nextCursor: view.nextCursor },
      {
        balance: 0,
        reserved: 0,
        tier: { name: 'bronze', multiplier: 1 },
        nextTier: { tier: { name: 'silver', multiplier: 1.25 }, threshold: { amount: 50_000, currency: 'EUR' }, missing: { amount: 50_000, currency: 'EUR' } },
        history: [],
        nextCursor: null,
      },
    );
  });

  test('earned, refunded and redeemed points show from the ledger, paged, adding up to the balance', async () => {
    const { accountId } = customer;
    const [first, second, third, checkout] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const deliveredAt = new Date().toISOString();
    await reportOrderDelivered(deps, { accountId, orderId: first, amount: 45_000, currency: 'EUR', deliveredAt });
    await reportOrderDelivered(deps, { accountId, orderId: second, amount: 10_000, currency: 'GBP', deliveredAt });
    await reportOrderDelivered(deps, { accountId, orderId: second, amount: 10_000, currency: 'GBP', deliveredAt });
    await reportOrderRefunded(deps, { accountId, orderId: first, refundId: 'goodwill-1', amount: 5_000 });
    const held = await redeemPoints(deps, { accountId, orderId: checkout, points: 40, currency: 'EUR' });
    assert.deepEqual(held.value, { amount: 40, currency: 'EUR' });
    await commitRedeemedPoints(deps, { accountId, orderId: checkout });
    await reportOrderDelivered(deps, { accountId, orderId: third, amount: 2_000, currency: 'EUR', deliveredAt });

    const handle = api.deps.temporal.client.workflow.getHandle(loyaltyWorkflowId(config.TASK_QUEUE_PREFIX, accountId));
    const state = await waitFor(async () => {
      const view = await handle.query(loyaltyStateQuery);
      return view.pendingWrites === 0 && view.lots.some((lot) => lot.id === third) ? view : undefined;
    });
    // 450 (bronze) + 100 (GBP, bronze) → silver at 450.00 + 117.00 EUR; −50 for the refund (still 517.00 EUR); −40 spent; +25 (20 × 1.25).
    assert.equal(state.balance, 450 + 100 - 50 - 40 + 25);
    assert.equal(state.tier, 'silver');

    const view = await json<LoyaltyView>(await get('/v1/me/loyalty?limit=3'), 200);
    assert.equal(view.balance, state.balance);
    assert.equal(view.balance, (await loyaltyTotals(api.deps.db, accountId)).balance);
    assert.deepEqual([view.reserved, view.available, view.debt], [0, state.balance, 0]);
    assert.deepEqual(view.tier, { name: 'silver', multiplier: 1.25 });
    assert.deepEqual(view.rollingSpend, { amount: 40_000 + 11_700 + 2_000, currency: 'EUR' });
    assert.deepEqual(view.nextTier, { tier: { name: 'gold', multiplier: 1.5 }, threshold: { amount: 150_000, currency: 'EUR' }, missing: { amount: 150_000 - 53_700, currency: 'EUR' } });
    assert.equal(view.expiringSoon.points, 0, 'nothing earned today expires within 30 days');
    assert.equal(view.history.length, 3);
    assert.ok(view.nextCursor);

    const lines: LedgerLine[] = [...view.history];
    for (let cursor: string | null = view.nextCursor; cursor; ) {
      const page: LoyaltyView = await json<LoyaltyView>(await get(`/v1/me/loyalty?limit=3&cursor=${cursor}`), 200);
      lines.push(...page.history);
      cursor = page.nextCursor;
    }
    assert.deepEqual(lines.map((line) => line.seq), lines.map((_, index) => lines.length - index), 'newest first, every entry once');
    assert.equal(lines.reduce((sum, line) => sum + line.points, 0), view.balance, 'the history adds up to the balance');
    assert.deepEqual(lines.map((line) => line.kind).reverse(), ['earn', 'earn', 'tier', 'clawback', 'reserve', 'commit', 'earn']);
  });

  test('a redemption preview says what points are worth, and refuses more than available with problem+json', async () => {
    const { available } = await json<LoyaltyView>(await get('/v1/me/loyalty'), 200);
    const preview = await json<{ points: number; value: { amount: number; currency: string }; availableAfter: number }>(await post('/v1/me/loyalty/redemptions/preview', { points: 50, currency: 'USD' }), 200);
    assert.deepEqual(preview, { points: 50, value: { amount: 50, currency: 'USD' }, available, availableAfter: available - 50 });

    const tooMany = await problem(await post('/v1/me/loyalty/redemptions/preview', { points: available + 1, currency: 'EUR' }), 422);
    assert.equal(tooMany.type, 'https://comptoir.dev/problems/insufficient-points');
    assert.deepEqual(fields(tooMany), ['points']);
    assert.match(tooMany.detail!, new RegExp(`${available + 1} points requested, ${available} available`));

    assert.deepEqual(fields(await problem(await post('/v1/me/loyalty/redemptions/preview', { points: -1, currency: 'EUR' }), 422)), ['points']);
    assert.deepEqual(fields(await problem(await post('/v1/me/loyalty/redemptions/preview', { points: 10, currency: 'JPY' }), 422)), ['currency']);
    assert.deepEqual(fields(await problem(await post('/v1/me/loyalty/redemptions/preview', { points: 10, currency: 'EUR', discount: 5 }), 422)), ['discount']);
  });

  test('bad queries, strangers and missing rights get problem+json', async () => {
    assert.deepEqual(fields(await problem(await get('/v1/me/loyalty?limit=0'), 400)), ['limit']);
    assert.deepEqual(fields(await problem(await get('/v1/me/loyalty?limit=101'), 400)), ['limit']);
    assert.deepEqual(fields(await problem(await get('/v1/me/loyalty?cursor=bm90LWEtY3Vyc29y'), 400)), ['cursor']);
    assert.deepEqual(fields(await problem(await get('/v1/me/loyalty?sort=points'), 400)), ['sort']);
    await problem(await get('/v1/me/loyalty', {}), 401);

    const path = `/v1/admin/loyalty/accounts/${customer.accountId}`;
    await problem(await get(path), 403);
    const support = await signedInAs(config, 'support');
    const seen = await json<LoyaltyView>(await get(path, support.headers), 200);
    const own = await json<LoyaltyView>(await get('/v1/me/loyalty'), 200);
    assert.equal(seen.balance, own.balance);
    assert.deepEqual(fields(await problem(await get('/v1/admin/loyalty/accounts/not-a-uuid', support.headers), 400)), ['accountId']);
  });
});

/**
 * `POST /v1/orders/:id/returns` and the return reads over HTTP, against real Postgres and Temporal:
 * who may return what and when, every refusal a problem+json naming the field, Idempotency-Key replays,
 * and concurrent requests for the same units never claiming more than was bought. Orders are made
 * directly in the database (fixtures.ts); no worker runs here, so the workflows started stay at their
 * first step — the workflow and end-to-end tests drive them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { claimedQuantities } from '../../db/returns';
import { returnWorkflowId, returnWorkflowType } from '../../workflows/returns/definitions';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startApi, testConfig } from '../support/stack';
import { deliveredOrder } from './fixtures';

type ReturnView = {
  id: string;
  orderId: string;
  status: string;
  reason: string;
  lines: { sku: string; quantity: number; paid: { amount: number; currency: string }; accepted: number | null; rejected: number | null; restocked: boolean }[];
  label: unknown;
  refund: unknown;
};

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `RA-${run}-${name}`;

describe('returns API', () => {
  const config = testConfig('returns-api');
  let api: Awaited<ReturnType<typeof startApi>>;
  let customer: SignedIn;

  before(async () => {
    api = await startApi(config);
    customer = await signedInAs(config, 'customer');
  });
  after(async () => {
    await api?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const requestReturn = (who: SignedIn, orderId: string, body: unknown, key: string | null = randomUUID()) =>
    fetch(url(`/v1/orders/${orderId}/returns`), {
      method: 'POST',
      headers: { ...who.headers, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
  const order = (lines = [{ sku: sku('MUG'), quantity: 3, unitAmount: 1500 }, { sku: sku('TEAPOT'), quantity: 1, unitAmount: 4900 }], extra: { status?: 'COMPLETED' | 'SHIPPED'; deliveredDaysAgo?: number } = {}) =>
    deliveredOrder(api.deps.db, config, { accountId: customer.accountId, lines, ...extra });

  test('a return within the window: 202 with the return, its lines at what was paid, and its workflow started', async () => {
    const delivered = await order();
    const response = await requestReturn(customer, delivered.id, { lines: [{ sku: sku('MUG'), quantity: 2 }], reason: 'too small' });
    const created = await json<ReturnView>(response, 202);
    assert.equal(response.headers.get('location'), `/v1/returns/${created.id}`);
    assert.equal(created.orderId, delivered.id);
    assert.equal(created.status, 'requested');
    assert.deepEqual(created.lines, [{ sku: sku('MUG'), quantity: 2, paid: { amount: 3000, currency: 'EUR' }, accepted: null, rejected: null, restocked: false }]);
    assert.equal(created.label, null);
    assert.equal(created.refund, null);
    const description = await api.deps.temporal.client.workflow.getHandle(returnWorkflowId(config.TASK_QUEUE_PREFIX, created.id)).describe();
    assert.equal(description.type, returnWorkflowType);
    assert.equal(description.taskQueue, config.taskQueues.fulfilment);

    // Readable by its owner and by support; to another customer it does not exist.
    assert.equal((await json<ReturnView>(await fetch(url(`/v1/returns/${created.id}`), { headers: customer.headers }), 200)).id, created.id);
    const support = await signedInAs(config, 'support');
    assert.equal((await json<{ returns: ReturnView[] }>(await fetch(url(`/v1/orders/${delivered.id}/returns`), { headers: support.headers }), 200)).returns.length, 1);
    const stranger = await signedInAs(config, 'customer');
    await problem(await fetch(url(`/v1/returns/${created.id}`), { headers: stranger.headers }), 404);
    await problem(await fetch(url(`/v1/orders/${delivered.id}/returns`), { headers: stranger.headers }), 404);
    // Only the owner asks for a return: staff, who can read the order, cannot create one for it.
    await problem(await requestReturn(stranger, delivered.id, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'x' }), 404);
  });

  test('Idempotency-Key: required; the same key and body replay the same return; the same key elsewhere is refused', async () => {
    const delivered = await order();
    const body = { lines: [{ sku: sku('TEAPOT'), quantity: 1 }], reason: 'broken' };
    assert.deepEqual(fields(await problem(await requestReturn(customer, delivered.id, body, null), 400)), ['idempotency-key']);
    const key = randomUUID();
    const first = await json<ReturnView>(await requestReturn(customer, delivered.id, body, key), 202);
    const replay = await requestReturn(customer, delivered.id, body, key);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal((await json<ReturnView>(replay, 202)).id, first.id);
    await problem(await requestReturn(customer, delivered.id, { ...body, reason: 'other' }, key), 422);
    assert.deepEqual(await claimedQuantities(api.deps.db, delivered.id), [{ sku: sku('TEAPOT'), quantity: 1 }]);
  });

  test('bad input: a problem+json naming the field', async () => {
    const delivered = await order();
    const cases: { body: unknown; status: number; fields: string[]; message?: RegExp }[] = [
      { body: { lines: [], reason: 'x' }, status: 422, fields: ['lines'] },
      { body: { lines: [{ sku: sku('MUG'), quantity: 1 }] }, status: 422, fields: ['reason'] },
      { body: { lines: [{ sku: sku('NOT-BOUGHT'), quantity: 1 }], reason: 'x' }, status: 422, fields: ['lines.0.sku'], message: /not a line of this order/ },
      { body: { lines: [{ sku: sku('MUG'), quantity: 4 }], reason: 'x' }, status: 422, fields: ['lines.0.quantity'], message: /at most 3 can be returned/ },
      { body: { lines: [{ sku: sku('MUG'), quantity: 1 }, { sku: sku('MUG'), quantity: 1 }], reason: 'x' }, status: 422, fields: ['lines.1.sku'], message: /named twice/ },
      { body: { lines: [{ sku: sku('MUG'), quantity: 0 }], reason: 'x' }, status: 422, fields: ['lines.0.quantity'] },
      { body: { lines: [{ sku: sku('MUG'), quantity: 1.5 }], reason: 'x' }, status: 422, fields: ['lines.0.quantity'] },
      { body: { lines: [{ sku: sku('MUG'), quantity: 1, price: 1 }], reason: 'x' }, status: 422, fields: ['lines.0.price'] },
    ];
    for (const each of cases) {
      const refused = await problem(await requestReturn(customer, delivered.id, each.body), each.status);
      assert.deepEqual(fields(refused), each.fields, JSON.stringify(each.body));
      if (each.message) assert.match(refused.errors![0]!.message, each.message);
    }
    await problem(await requestReturn(customer, randomUUID(), { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'x' }), 404);
    await problem(await requestReturn(customer, 'not-a-uuid', { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'x' }), 400);
    assert.deepEqual(await claimedQuantities(api.deps.db, delivered.id), [], 'nothing was recorded');
  });

  test('outside the window, or before delivery: refused, naming the order', async () => {
    const old = await order(undefined, { deliveredDaysAgo: 31 });
    const late = await problem(await requestReturn(customer, old.id, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'late' }), 422);
    assert.equal(late.type, 'https://comptoir.dev/problems/return-window-closed');
    assert.deepEqual(fields(late), ['id']);
    assert.match(late.detail ?? '', new RegExp(old.returnWindowEndsAt!.toISOString()));

    const onItsWay = await order(undefined, { status: 'SHIPPED' });
    const early = await problem(await requestReturn(customer, onItsWay.id, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'early' }), 409);
    assert.equal(early.type, 'https://comptoir.dev/problems/order-not-returnable');
    assert.deepEqual(fields(early), ['id']);
  });

  test('what is already returned or in a return counts: quantity above what is left is refused', async () => {
    const delivered = await order();
    await json(await requestReturn(customer, delivered.id, { lines: [{ sku: sku('MUG'), quantity: 2 }], reason: 'first' }), 202);
    const refused = await problem(await requestReturn(customer, delivered.id, { lines: [{ sku: sku('MUG'), quantity: 2 }], reason: 'second' }), 422);
    assert.deepEqual(fields(refused), ['lines.0.quantity']);
    assert.match(refused.errors![0]!.message, /at most 1 can still be returned: 3 bought, 2 already returned or in a return/);
    await json(await requestReturn(customer, delivered.id, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'third' }), 202);
  });

  test('ten concurrent requests for the same units: they never claim more than was bought', async () => {
    const delivered = await order([{ sku: sku('BOWL'), quantity: 3, unitAmount: 900 }]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => requestReturn(customer, delivered.id, { lines: [{ sku: sku('BOWL'), quantity: 1 }], reason: 'set of three' })));
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [202, 202, 202, 422, 422, 422, 422, 422, 422, 422]);
    for (const answer of answers.filter((a) => a.status === 422)) assert.deepEqual(fields(await problem(answer, 422)), ['lines.0.quantity']);
    assert.deepEqual(await claimedQuantities(api.deps.db, delivered.id), [{ sku: sku('BOWL'), quantity: 3 }]);
  });
});

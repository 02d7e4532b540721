/**
 * The routes around notifications, over HTTP: a customer's preferences (and what bad input gets),
 * their in-app messages, and the dead letters ops see and send again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { insertAccount } from '../../identity/accounts';
import { enqueueNotification } from '../../db/notifications';
import { notificationOutbox } from '../../db/schema/notifications';
import { fields, json, problem } from '../support/http';
import { signedInAs } from '../support/identity';
import { startApi, testConfig } from '../support/stack';

type Preferences = { order_updates: { email: boolean; in_app: boolean }; returns_and_refunds: { email: boolean; in_app: boolean }; alwaysSent: string[] };

describe('notification preferences and messages over HTTP', () => {
  const config = testConfig('notification-preferences');
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async () => {
    api = await startApi(config);
  });
  after(() => api?.stop());

  const url = (path: string) => `${api.baseUrl}${path}`;
  const put = (body: unknown, headers: Record<string, string>, contentType = 'application/json') =>
    fetch(url('/v1/me/notification-preferences'), { method: 'PUT', headers: { ...headers, 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  test('everything is on until the customer says otherwise; a change touches only what it names', async () => {
    const customer = await signedInAs(config, 'customer');
    const initial = await fetch(url('/v1/me/notification-preferences'), { headers: customer.headers });
    assert.equal(initial.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await json<Preferences>(initial, 200), {
      order_updates: { email: true, in_app: true },
      returns_and_refunds: { email: true, in_app: true },
      alwaysSent: ['verify_email', 'reset_password', 'account_exists'],
    });
    const changed = await json<Preferences>(await put({ order_updates: { email: false } }, customer.headers), 200);
    assert.deepEqual(changed.order_updates, { email: false, in_app: true });
    const again = await json<Preferences>(await put({ returns_and_refunds: { in_app: false }, order_updates: { email: true } }, customer.headers), 200);
    assert.deepEqual([again.order_updates, again.returns_and_refunds], [{ email: true, in_app: true }, { email: true, in_app: false }]);
    const read = await json<Preferences>(await fetch(url('/v1/me/notification-preferences'), { headers: customer.headers }), 200);
    assert.deepEqual(read, again);
    // Another customer's choices are their own.
    const other = await signedInAs(config, 'customer');
    assert.deepEqual((await json<Preferences>(await fetch(url('/v1/me/notification-preferences'), { headers: other.headers }), 200)).returns_and_refunds, { email: true, in_app: true });
  });

  test('bad input → problem+json 4xx naming the field; nothing changes', async () => {
    const customer = await signedInAs(config, 'customer');
    const cases: [unknown, string[]][] = [
      [{ order_updates: { email: 'no' } }, ['order_updates.email']],
      [{ account: { email: false } }, ['account']],
      [{ order_updates: { sms: true } }, ['order_updates.sms']],
      [{ order_updates: {} }, ['']],
      [{}, ['']],
    ];
    for (const [body, expected] of cases) {
      const response = await put(body, customer.headers);
      assert.equal(response.headers.get('content-type'), 'application/problem+json', JSON.stringify(body));
      const p = await problem(response, 422);
      assert.deepEqual(fields(p), expected, JSON.stringify(body));
    }
    assert.equal((await problem(await put('{"order_updates":', customer.headers), 400)).status, 400, 'not JSON');
    assert.equal((await put('order_updates=1', customer.headers, 'text/plain')).status, 415);
    assert.equal((await problem(await put({ order_updates: { email: false } }, {}), 401)).status, 401, 'signed out');
    assert.deepEqual((await json<Preferences>(await fetch(url('/v1/me/notification-preferences'), { headers: customer.headers }), 200)).order_updates, { email: true, in_app: true });
  });

  test('in-app messages: mine only, newest first, paged; a bad cursor is a 400', async () => {
    const customer = await signedInAs(config, 'customer');
    const other = await signedInAs(config, 'customer');
    const insert = (accountId: string, subject: string) =>
      api.deps.sql`INSERT INTO notifications.in_app_messages (outbox_id, account_id, order_id, event, subject, body) VALUES (${-Math.floor(Math.random() * 1e12)}, ${accountId}, ${randomUUID()}, 'order_shipped', ${subject}, 'body')`;
    for (const subject of ['one', 'two', 'three']) await insert(customer.accountId, subject);
    await insert(other.accountId, 'not yours');
    const first = await json<{ messages: { subject: string }[]; nextCursor: string | null }>(await fetch(url('/v1/me/notifications?limit=2'), { headers: customer.headers }), 200);
    assert.deepEqual(first.messages.map((m) => m.subject), ['three', 'two']);
    assert.ok(first.nextCursor);
    const second = await json<{ messages: { subject: string }[]; nextCursor: string | null }>(await fetch(url(`/v1/me/notifications?limit=2&cursor=${first.nextCursor}`), { headers: customer.headers }), 200);
    assert.deepEqual(second.messages.map((m) => m.subject), ['one']);
    assert.equal(second.nextCursor, null);
    assert.deepEqual(fields(await problem(await fetch(url('/v1/me/notifications?cursor=abc'), { headers: customer.headers }), 400)), ['cursor']);
  });

  test('dead letters: ops see why (never the address) and queue one again; customers cannot', async () => {
    const email = `dead-${randomUUID()}@example.com`;
    const accountId = await insertAccount(api.deps.db, config, { email, role: 'customer', emailVerified: true });
    const id = await api.deps.db.transaction((tx) => enqueueNotification(tx, config, { accountId, template: 'reset_password', recipient: email, payload: { token: 'cpr_dead' } }));
    await api.deps.db.update(notificationOutbox).set({ state: 'dead', attempts: 10, lastError: 'PermanentDeliveryError: SMTP 550 at DATA' }).where(eq(notificationOutbox.id, id));

    const ops = await signedInAs(config, 'ops');
    const listed = await json<{ items: { id: number; lastError: string; attempts: number }[] }>(await fetch(url('/v1/admin/notifications/dead?limit=100'), { headers: ops.headers }), 200);
    const item = listed.items.find((row) => row.id === id);
    assert.deepEqual([item?.attempts, item?.lastError], [10, 'PermanentDeliveryError: SMTP 550 at DATA']);
    assert.ok(!JSON.stringify(listed).includes(email), 'no address in the list');

    const customer = await signedInAs(config, 'customer');
    assert.equal((await fetch(url(`/v1/admin/notifications/${id}/retry`), { method: 'POST', headers: customer.headers })).status, 403);
    assert.equal((await fetch(url(`/v1/admin/notifications/${id}/retry`), { method: 'POST', headers: ops.headers })).status, 202);
    const [row] = await api.deps.db.select().from(notificationOutbox).where(eq(notificationOutbox.id, id));
    assert.deepEqual([row!.state, row!.attempts], ['pending', 0]);
    await problem(await fetch(url(`/v1/admin/notifications/${id}/retry`), { method: 'POST', headers: ops.headers }), 404);
    assert.deepEqual(fields(await problem(await fetch(url('/v1/admin/notifications/x/retry'), { method: 'POST', headers: ops.headers }), 400)), ['id']);
    // Back in the queue: nobody else's test should send it to a real server; it goes nowhere after this test.
    await api.deps.db.update(notificationOutbox).set({ state: 'skipped', recipientEnc: null, payloadEnc: null }).where(eq(notificationOutbox.id, id));
  });
});

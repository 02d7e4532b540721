/**
 * `Idempotency-Key` (issue 6 point 3) over HTTP: the real routes that create something (addresses,
 * categories, products, staff, partner clients) through `startApi`, and a small app of this file's own,
 * served over HTTP and backed by the same Postgres, for what no real route can be made to do on
 * purpose (require a key, fail with a 5xx, hold a request open while duplicates arrive).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { idempotent, type IdempotencyOptions } from '../../api/idempotency';
import type { AppEnv } from '../../api/deps';
import { HttpProblem, problem as problemResponse } from '../../api/problem';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  purgeExpiredIdempotencyKeys,
  readIdempotencyKey,
  releaseIdempotencyKey,
} from '../../db/idempotency';
import { idempotencyKeys } from '../../db/schema/ops';
import { createAddress, maxAddressesPerAccount } from '../../identity/addresses';
import { startSession } from '../../identity/sessions';
import { adminHeaders, signedInAs, type SignedIn } from '../support/identity';
import { fields, json, problem, type Problem } from '../support/http';
import { recordHistory } from '../support/histories';
import { startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { ensureIdempotencyKeyPurgeSchedule } from '../../workers/orders-schedules';

const config = testConfig('idempotency');
let api: Awaited<ReturnType<typeof startApi>>;
before(async () => {
  api = await startApi(config);
});
after(() => api?.stop());

const db = () => api.deps.db;
const url = (path: string) => `${api.baseUrl}${path}`;
const newKey = () => `key-${randomUUID()}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
type Json = Record<string, unknown>;

async function post(headers: Record<string, string>, path: string, body: unknown, key?: string): Promise<Response> {
  return fetch(url(path), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Status, body and the headers a replay must repeat, read once. */
async function answer(response: Response) {
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get('content-type'),
    location: response.headers.get('location'),
    etag: response.headers.get('etag'),
    cacheControl: response.headers.get('cache-control'),
    replayed: response.headers.get('idempotent-replayed'),
  };
}

const sameAnswer = (replay: Awaited<ReturnType<typeof answer>>, first: Awaited<ReturnType<typeof answer>>) =>
  assert.deepEqual({ ...replay, replayed: null }, first);

async function addressesOf(who: SignedIn): Promise<Json[]> {
  const response = await fetch(url('/v1/me/addresses'), { headers: who.headers });
  return (await json<{ items: Json[] }>(response, 200)).items;
}

async function storedRow(scope: string, key: string) {
  const row = await readIdempotencyKey(db(), scope, key);
  assert.ok(row, `no idempotency row for ${scope} ${key}`);
  return row;
}

const home = (line1 = '12 rue des Lilas') => ({ label: 'Maison', name: 'Camille Dupont', line1, postalCode: '75011', city: 'Paris', country: 'FR' });
const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

function assertNamesKeyHeader(p: Problem, slug: string) {
  assert.equal(p.type, `https://comptoir.dev/problems/${slug}`);
  assert.deepEqual(
    p.errors?.map((e) => `${e.in}:${e.field}`),
    ['header:idempotency-key'],
  );
}

describe('replaying the first answer (POST /v1/me/addresses)', () => {
  test('the same key and body replay status, body and headers; one address is created', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    const first = await answer(await post(me.headers, '/v1/me/addresses', home(), key));
    assert.equal(first.status, 201, first.body);
    assert.equal(first.replayed, null);
    assert.match(first.location ?? '', /^\/v1\/me\/addresses\/[0-9a-f-]{36}$/);
    const second = await answer(await post(me.headers, '/v1/me/addresses', home(), key));
    assert.equal(second.replayed, 'true');
    sameAnswer(second, first);
    assert.equal((await addressesOf(me)).length, 1);
  });

  test('the stored answer holds no personal data in clear: the body is encrypted, bound to its scope and key', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    await json(await post(me.headers, '/v1/me/addresses', home('7 impasse Secrète'), key), 201);
    const row = await storedRow(`account:${me.accountId}`, key);
    assert.equal(row.status, 'completed');
    assert.equal(row.responseStatus, 201);
    assert.ok(row.responseBody && !row.responseBody.includes('Secrète') && !row.responseBody.includes('Camille'));
    assert.match(row.responseBody, /^[a-z0-9]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(row.requestHash, /^POST \/v1\/me\/addresses sha256:[0-9a-f]{64}$/);
    // The stored body moved under another key no longer decrypts: the replay refuses rather than showing it.
    const other = newKey();
    await json(await post(me.headers, '/v1/me/addresses', home('8 impasse Secrète'), other), 201);
    await db().update(idempotencyKeys).set({ responseBody: row.responseBody }).where(and(eq(idempotencyKeys.scope, row.scope), eq(idempotencyKeys.key, other)));
    const refused = await problem(await post(me.headers, '/v1/me/addresses', home('8 impasse Secrète'), other), 409);
    assertNamesKeyHeader(refused, 'idempotency-replay-unavailable');
  });

  test('the same key with another body is a 422 naming the header, and nothing is created', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    await json(await post(me.headers, '/v1/me/addresses', home(), key), 201);
    const refused = await problem(await post(me.headers, '/v1/me/addresses', home('1 place Other'), key), 422);
    assertNamesKeyHeader(refused, 'idempotency-key-reused');
    assert.match(refused.detail ?? '', /different request body/);
    assert.equal((await addressesOf(me)).length, 1);
  });

  test('the body is read once for the hash and still validated by the route: 4xx answers are stored and replayed', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    const invalid = { ...home(), country: 'France', surprise: true };
    const first = await problem(await post(me.headers, '/v1/me/addresses', invalid, key), 422);
    assert.deepEqual(fields(first)?.sort(), ['country', 'surprise']);
    const replay = await post(me.headers, '/v1/me/addresses', invalid, key);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await problem(replay, 422), first);
    // The key has its answer: a corrected body needs a new key.
    assertNamesKeyHeader(await problem(await post(me.headers, '/v1/me/addresses', home(), key), 422), 'idempotency-key-reused');
    const malformed = await problem(await post(me.headers, '/v1/me/addresses', '{"name": ', newKey()), 400);
    assert.equal(malformed.type, 'https://comptoir.dev/problems/malformed-json');
    await json(await post(me.headers, '/v1/me/addresses', home(), newKey()), 201);
    assert.equal((await addressesOf(me)).length, 1);
  });

  test('a problem the route throws (address book full) is an answer: replayed as it was, problem+json included', async () => {
    const me = await signedInAs(config, 'customer');
    for (let i = 0; i < maxAddressesPerAccount; i += 1) await createAddress(db(), config, me.accountId, { ...home(`${i} rue Pleine`), isDefaultShipping: false, isDefaultBilling: false });
    const key = newKey();
    const full = await problem(await post(me.headers, '/v1/me/addresses', home(), key), 409);
    assert.equal(full.type, 'https://comptoir.dev/problems/address-book-full');
    const replay = await post(me.headers, '/v1/me/addresses', home(), key);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await problem(replay, 409), full);
  });

  test('a key that is not 1 to 255 visible ASCII characters is a 400 naming the header', async () => {
    const me = await signedInAs(config, 'customer');
    for (const bad of ['', 'a b', 'x'.repeat(256), 'cl\u00e9']) {
      const refused = await problem(await post(me.headers, '/v1/me/addresses', home(), bad), 400);
      assertNamesKeyHeader(refused, 'validation');
    }
    await json(await post(me.headers, '/v1/me/addresses', home(), 'x'.repeat(255)), 201);
    await json(await post(me.headers, '/v1/me/addresses', home()), 201); // optional on this route
    assert.equal((await addressesOf(me)).length, 2);
  });

  test('20 concurrent duplicates: one address, twenty identical answers, nineteen of them replays', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 20 }, async () => answer(await post(me.headers, '/v1/me/addresses', home(), key))));
    const first = answers.find((a) => a.replayed === null);
    assert.ok(first, 'one request ran');
    assert.equal(first.status, 201, first.body);
    assert.equal(answers.filter((a) => a.replayed === 'true').length, 19);
    for (const each of answers) sameAnswer(each, first);
    assert.equal((await addressesOf(me)).length, 1);
  });

  test('an expired key is a new key: the request runs again, even with another body', async () => {
    const me = await signedInAs(config, 'customer');
    const key = newKey();
    const scope = `account:${me.accountId}`;
    const expire = () => db().update(idempotencyKeys).set({ expiresAt: sql`now() - interval '1 second'` }).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    const first = await answer(await post(me.headers, '/v1/me/addresses', home(), key));
    await expire();
    const again = await answer(await post(me.headers, '/v1/me/addresses', home(), key));
    assert.equal(again.status, 201);
    assert.equal(again.replayed, null);
    assert.notEqual(again.location, first.location);
    await expire();
    await json(await post(me.headers, '/v1/me/addresses', home('3 rue Neuve'), key), 201);
    assert.equal((await addressesOf(me)).length, 3);
    const row = await storedRow(scope, key);
    assert.ok(row.expiresAt.getTime() - Date.now() > 23 * 3600_000, 'a renewed key is kept 24 h again');
  });

  test('keys are per principal: another person\'s identical key and body run on their own', async () => {
    const [ann, bob] = await Promise.all([signedInAs(config, 'customer'), signedInAs(config, 'customer')]);
    const key = newKey();
    const forAnn = await answer(await post(ann.headers, '/v1/me/addresses', home(), key));
    const forBob = await answer(await post(bob.headers, '/v1/me/addresses', home(), key));
    assert.equal(forBob.status, 201);
    assert.equal(forBob.replayed, null);
    assert.notEqual(forBob.location, forAnn.location);
    assert.equal((await addressesOf(ann)).length, 1);
    assert.equal((await addressesOf(bob)).length, 1);
    // The scope is the person, not the session: a retry from another session of Ann's replays.
    const session = await startSession({ db: db(), config, tokens: api.deps.tokens }, ann.accountId, ['pwd']);
    const retry = await answer(await post({ authorization: `Bearer ${session.access_token}` }, '/v1/me/addresses', home(), key));
    assert.equal(retry.replayed, 'true');
    sameAnswer(retry, forAnn);
  });
});

describe('admin routes that create something', () => {
  test('a category is replayed with its ETag and Location; the same key on another route is a 422 naming the first one', async () => {
    const admin = await adminHeaders(config);
    const key = newKey();
    const category = { slug: unique('idem-cat'), name: 'Idempotent' };
    const first = await answer(await post(admin, '/v1/admin/categories', category, key));
    assert.equal(first.status, 201, first.body);
    assert.ok(first.etag && first.location);
    sameAnswer(await answer(await post(admin, '/v1/admin/categories', category, key)), first);
    // The very same body on the products route: refused for the key before the body is even validated.
    const refused = await problem(await post(admin, '/v1/admin/products', category, key), 422);
    assertNamesKeyHeader(refused, 'idempotency-key-reused');
    assert.match(refused.detail ?? '', /POST \/v1\/admin\/categories/);
    // Another admin's same key is theirs alone.
    const other = await signedInAs(config, 'admin');
    const theirs = await post(other.headers, '/v1/admin/products', { slug: category.slug, title: 'Theirs' }, key);
    assert.equal(theirs.status, 201, await theirs.clone().text());
  });

  test('a product and a staff account are created once under one key', async () => {
    const admin = await adminHeaders(config);
    const productKey = newKey();
    const product = { slug: unique('idem-product'), title: 'Once' };
    const first = await answer(await post(admin, '/v1/admin/products', product, productKey));
    assert.equal(first.status, 201, first.body);
    sameAnswer(await answer(await post(admin, '/v1/admin/products', product, productKey)), first);

    const staffKey = newKey();
    const staff = { email: `${unique('idem-staff')}@test.comptoir.dev`, role: 'support' };
    const created = await answer(await post(admin, '/v1/admin/staff', staff, staffKey));
    assert.equal(created.status, 201, created.body);
    const replay = await answer(await post(admin, '/v1/admin/staff', staff, staffKey));
    assert.equal(replay.replayed, 'true');
    sameAnswer(replay, created);
    // Without the key the same request is a new one, and the email is taken: proof the replay did not run it.
    assert.equal((await post(admin, '/v1/admin/staff', staff)).status, 409);
  });

  test('a partner client\'s secret, shown once, is replayed to the retry but never rests in clear', async () => {
    const admin = await adminHeaders(config);
    const key = newKey();
    const body = { id: unique('idem-partner'), name: 'Idempotent partner', scopes: ['webhooks:payments'] };
    const first = await answer(await post(admin, '/v1/admin/partners', body, key));
    assert.equal(first.status, 201, first.body);
    const secret = (JSON.parse(first.body) as { clientSecret: string }).clientSecret;
    sameAnswer(await answer(await post(admin, '/v1/admin/partners', body, key)), first);
    const [row] = await db().select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    assert.ok(row?.responseBody && !row.responseBody.includes(secret));
  });

  test('the OpenAPI document describes the header on every route that takes it', async () => {
    const doc = await json<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean }[] }>> }>(await fetch(url('/openapi.json')), 200);
    for (const path of ['/v1/me/addresses', '/v1/admin/partners', '/v1/admin/staff', '/v1/admin/products', '/v1/admin/categories']) {
      const header = doc.paths[path]?.post?.parameters?.find((p) => p.name === 'Idempotency-Key');
      assert.deepEqual(header && { in: header.in, required: header.required }, { in: 'header', required: false }, path);
    }
  });
});

/**
 * This file's own app: the middleware behind a stand-in for `authenticate()` (an `x-test-account`
 * header makes the caller that account), served over HTTP so anonymous callers have an address.
 */
async function serveApp(options: IdempotencyOptions, handler: (c: import('hono').Context<AppEnv>) => Response | Promise<Response>) {
  const app = new Hono<AppEnv>();
  const arrived = { count: 0 };
  app.use('*', async (c, next) => {
    arrived.count += 1;
    c.set('deps', api.deps);
    c.set('requestId', randomUUID());
    const account = c.req.header('x-test-account');
    if (account) c.set('principal', { kind: 'account', accountId: account, role: 'customer', sessionId: 'test', authMethods: ['pwd'] });
    await next();
  });
  app.post('/things', idempotent(options), handler);
  app.onError((error, c) => (error instanceof HttpProblem ? problemResponse(c, error.init) : problemResponse(c, { status: 500, slug: 'internal', title: 'Internal Server Error' })));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    arrived,
    send: (key: string | undefined, body: unknown = { n: 1 }, headers: Record<string, string> = {}) =>
      fetch(`${base}/things`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
        body: JSON.stringify(body),
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A promise the test resolves when it chooses. */
function gate() {
  let open!: () => void;
  const closed = new Promise<void>((resolve) => (open = resolve));
  return { closed, open };
}

describe('the middleware on its own', () => {
  test('required: a missing key is a 400 naming the header, and the handler does not run', async () => {
    let runs = 0;
    const app = await serveApp({ required: true }, (c) => c.json({ run: ++runs }, 201));
    try {
      const refused = await problem(await app.send(undefined), 400);
      assertNamesKeyHeader(refused, 'validation');
      assert.equal(runs, 0);
      await json(await app.send(newKey()), 201);
      assert.equal(runs, 1);
    } finally {
      await app.close();
    }
  });

  test('a thrown error or a 5xx gives the key back: the retry runs; a 4xx is an answer and is replayed', async () => {
    const outcomes: (() => Response | never)[] = [];
    let runs = 0;
    const app = await serveApp({ required: true }, (c) => {
      runs += 1;
      const next = outcomes.shift();
      if (next) return next();
      return c.json({ run: runs }, 201);
    });
    try {
      const key = newKey();
      outcomes.push(() => {
        throw new Error('boom');
      });
      assert.equal((await app.send(key)).status, 500);
      assert.equal(await readIdempotencyKey(db(), 'ip:127.0.0.1', key), undefined, 'the claim is released');
      outcomes.push(() => new Response(JSON.stringify({ down: true }), { status: 503, headers: { 'content-type': 'application/json' } }));
      assert.equal((await app.send(key)).status, 503);
      assert.deepEqual(await json(await app.send(key), 201), { run: 3 });
      const replay = await app.send(key);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await json(replay, 201), { run: 3 });
      assert.equal(runs, 3);

      const conflictKey = newKey();
      outcomes.push(() => {
        throw new HttpProblem({ status: 409, slug: 'conflict', title: 'Conflict', detail: 'not now' });
      });
      const conflict = await problem(await app.send(conflictKey), 409);
      const again = await app.send(conflictKey);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await problem(again, 409), conflict);
      assert.equal(runs, 4);
    } finally {
      await app.close();
    }
  });

  test('concurrent duplicates wait for the first and get its answer: it runs once', async () => {
    const held = gate();
    let runs = 0;
    const app = await serveApp({ required: true, waitMs: 120_000 }, async (c) => {
      runs += 1;
      await held.closed;
      return c.json({ run: runs }, 201, { Location: '/things/1' });
    });
    try {
      const key = newKey();
      const pending = Array.from({ length: 20 }, () => app.send(key));
      await waitFor(async () => app.arrived.count === 20 && runs === 1, { what: 'all twenty requests, one of them running' });
      assert.equal((await storedRow('ip:127.0.0.1', key)).status, 'in_progress');
      held.open();
      const answers = await Promise.all(pending.map(async (request) => request.then(async (r) => ({ status: r.status, body: await r.text(), location: r.headers.get('location'), replayed: r.headers.get('idempotent-replayed') }))));
      assert.equal(runs, 1);
      assert.equal(answers.filter((a) => a.replayed === 'true').length, 19);
      for (const a of answers) assert.deepEqual({ ...a, replayed: null }, { status: 201, body: '{"run":1}', location: '/things/1', replayed: null });
    } finally {
      held.open();
      await app.close();
    }
  });

  test('a duplicate that cannot wait longer gets 409 idempotency-in-progress with Retry-After, then the answer once there is one', async () => {
    const held = gate();
    let runs = 0;
    const app = await serveApp({ required: true, waitMs: 0 }, async (c) => {
      runs += 1;
      await held.closed;
      return c.json({ run: runs }, 201);
    });
    try {
      const key = newKey();
      const first = app.send(key);
      await waitFor(async () => runs === 1, { what: 'the first request running' });
      const busy = await app.send(key);
      assert.equal(busy.headers.get('retry-after'), '1');
      assertNamesKeyHeader(await problem(busy, 409), 'idempotency-in-progress');
      held.open();
      assert.deepEqual(await json(await first, 201), { run: 1 });
      assert.deepEqual(await json(await app.send(key), 201), { run: 1 });
      assert.equal(runs, 1);
    } finally {
      held.open();
      await app.close();
    }
  });

  test('anonymous callers are scoped by the hash of their cart token, else by their address', async () => {
    let runs = 0;
    const app = await serveApp({ required: true }, (c) => c.json({ run: ++runs }, 201));
    try {
      const key = newKey();
      const cart = (token: string) => ({ 'x-cart-token': token });
      assert.deepEqual(await json(await app.send(key, { n: 1 }, cart('cart-token-a')), 201), { run: 1 });
      assert.deepEqual(await json(await app.send(key, { n: 1 }, cart('cart-token-b')), 201), { run: 2 });
      assert.deepEqual(await json(await app.send(key, { n: 1 }), 201), { run: 3 });
      assert.deepEqual(await json(await app.send(key, { n: 1 }, { 'x-test-account': randomUUID() }), 201), { run: 4 });
      assert.deepEqual(await json(await app.send(key, { n: 1 }, cart('cart-token-a')), 201), { run: 1 });
      assert.equal(runs, 4);
      const scopes = (await db().select({ scope: idempotencyKeys.scope }).from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).map((r) => r.scope).sort();
      assert.equal(scopes.length, 4);
      assert.ok(scopes.includes(`cart:${sha256('cart-token-a')}`) && scopes.includes(`cart:${sha256('cart-token-b')}`) && scopes.includes('ip:127.0.0.1'));
      assert.ok(!scopes.some((s) => s.includes('cart-token')), 'the table never holds a cart token');
    } finally {
      await app.close();
    }
  });
});

describe('the claim (db/idempotency.ts)', () => {
  test('a claim is exclusive; an abandoned one is taken over after its lease, and the old holder is fenced off', async () => {
    const scope = `test:${randomUUID()}`;
    const key = newKey();
    const claim = await claimIdempotencyKey(db(), { scope, key, requestHash: 'A' });
    assert.ok(claim);
    assert.equal(await claimIdempotencyKey(db(), { scope, key, requestHash: 'A' }), undefined);
    await db().update(idempotencyKeys).set({ createdAt: sql`created_at - interval '10 minutes'` }).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    assert.equal(await claimIdempotencyKey(db(), { scope, key, requestHash: 'B' }), undefined, 'another request never takes over');
    const takeover = await claimIdempotencyKey(db(), { scope, key, requestHash: 'A' });
    assert.ok(takeover);
    const stale = { ...claim, claimedAt: new Date(claim.claimedAt.getTime() - 10 * 60_000) };
    assert.equal(await completeIdempotencyKey(db(), stale, { status: 201, headers: {}, body: 'old' }), false);
    assert.equal(await releaseIdempotencyKey(db(), stale), false);
    assert.equal(await completeIdempotencyKey(db(), takeover, { status: 201, headers: {}, body: 'new' }), true);
    assert.equal(await claimIdempotencyKey(db(), { scope, key, requestHash: 'A', leaseMs: 0 }), undefined, 'a completed key is never taken over before it expires');
    assert.equal((await storedRow(scope, key)).responseBody, 'new');
  });

  test('purging deletes expired keys only, in batches, and a second purge finds nothing (idempotent)', async () => {
    const scope = `test:${randomUUID()}`;
    const expired = Array.from({ length: 5 }, () => newKey());
    const live = newKey();
    for (const key of expired) assert.ok(await claimIdempotencyKey(db(), { scope, key, requestHash: 'A', ttlMs: -1_000 }));
    assert.ok(await claimIdempotencyKey(db(), { scope, key: live, requestHash: 'A' }));
    assert.ok((await purgeExpiredIdempotencyKeys(db(), { batchSize: 2 })) >= expired.length);
    const left = await db().select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.scope, scope));
    assert.deepEqual(left.map((r) => r.key), [live]);
    assert.equal(await purgeExpiredIdempotencyKeys(db(), { batchSize: 2 }), 0);
  });

  test('a purge stops after maxBatches, leaving the rest for the next run', async () => {
    const scope = `test:${randomUUID()}`;
    for (let i = 0; i < 5; i++) assert.ok(await claimIdempotencyKey(db(), { scope, key: newKey(), requestHash: 'A', ttlMs: -1_000 }));
    assert.equal(await purgeExpiredIdempotencyKeys(db(), { batchSize: 2, maxBatches: 1 }), 2);
    assert.ok((await purgeExpiredIdempotencyKeys(db(), { batchSize: 2 })) >= 3);
  });

  test('the hourly Schedule purges expired keys through Temporal', async () => {
    const scope = `test:${randomUUID()}`;
    const expired = newKey();
    const live = newKey();
    assert.ok(await claimIdempotencyKey(db(), { scope, key: expired, requestHash: 'A', ttlMs: -1_000 }));
    assert.ok(await claimIdempotencyKey(db(), { scope, key: live, requestHash: 'A' }));
    const worker = await startWorker(config);
    try {
      const scheduleId = await ensureIdempotencyKeyPurgeSchedule(worker.context);
      const handle = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE }).schedule.getHandle(scheduleId);
      assert.equal((await handle.describe()).spec.intervals?.[0]?.every, 3_600_000);
      await handle.trigger();
      const keysOfScope = async () => (await db().select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.scope, scope))).map((r) => r.key);
      await waitFor(async () => !(await keysOfScope()).includes(expired), { what: 'the expired key purged' });
      assert.deepEqual(await keysOfScope(), [live]);
      const started = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      assert.ok(started, 'the schedule started a run');
      const client = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE });
      await client.workflow.getHandle(started).result();
      await recordHistory(client, started, 'idempotencyKeyPurge');
      await handle.delete();
    } finally {
      await worker.stop();
    }
  });
});

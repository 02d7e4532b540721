/**
 * Partner clients end to end over HTTP: admins create, list, re-key and revoke them; a client trades
 * its credentials for a scoped token at POST /v1/oauth/token (RFC 6749 §4.4) and that token opens
 * exactly the routes its scopes name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { randomBytes } from 'node:crypto';
import { auditLog, partnerClients } from '../../db/schema/identity';
import createPartner from '../../scripts/identity/create-partner';
import { adminHeaders, signedInAs } from '../support/identity';
import { startApi, testConfig } from '../support/stack';
import { json, problem, fields, type Problem } from '../support/http';

const config = testConfig('partners');
let api: Awaited<ReturnType<typeof startApi>>;
before(async () => {
  api = await startApi(config);
});
after(() => api?.stop());

type Client = { id: string; name: string; scopes: string[]; createdAt: string; revokedAt: string | null; clientSecret?: string };
type Token = { access_token: string; token_type: string; expires_in: number; scope: string };

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;
const url = (path: string) => `${api.baseUrl}${path}`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = 'application/x-www-form-urlencoded';




async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(url(path), { method, headers: await adminHeaders(config), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function createClient(scopes: string[], id = unique('acme')): Promise<Required<Client>> {
  return json<Required<Client>>(await admin('POST', '/v1/admin/partners', { id, name: 'Acme Payments', scopes }), 201);
}

/** A token request; `auth` is HTTP Basic when given, otherwise whatever the body says. */
function tokenRequest(params: Record<string, string>, options: { auth?: string; contentType?: string; body?: string } = {}) {
  return fetch(url('/v1/oauth/token'), {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? form, ...(options.auth ? { authorization: options.auth } : {}) },
    body: options.body ?? new URLSearchParams(params).toString(),
  });
}

async function auditRows(action: string, targetId: string) {
  return api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const importOne = (token: string) =>
  fetch(url('/v1/admin/catalog/imports'), { method: 'POST', headers: bearer(token), body: JSON.stringify([{ slug: unique('partner-import'), title: 'Partner row' }]) });
const replaceSynonyms = (token: string) => fetch(url('/v1/admin/search/synonyms'), { method: 'PUT', headers: bearer(token), body: JSON.stringify({ groups: [['tee', 't-shirt']] }) });

describe('admin: partner clients', () => {
  test('create answers the secret once; the store keeps only a scrypt hash; list never shows it; the creation is audited', async () => {
    const response = await admin('POST', '/v1/admin/partners', { id: unique('carrier'), name: 'Colis Express', scopes: ['webhooks:shipments'] });
    const created = await json<Required<Client>>(response, 201);
    assert.equal(response.headers.get('location'), `/v1/admin/partners/${created.id}`);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(created.clientSecret, /^pcs_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.scopes, ['webhooks:shipments']);
    assert.equal(created.revokedAt, null);

    const [row] = await api.deps.db.select().from(partnerClients).where(eq(partnerClients.id, created.id));
    assert.match(row!.secretHash, /^scrypt\$/);
    assert.ok(!row!.secretHash.includes(created.clientSecret));

    const listed = await collectAll();
    const mine = listed.find((client) => client.id === created.id);
    assert.ok(mine);
    assert.equal(mine.clientSecret, undefined);
    assert.ok(!JSON.stringify(listed).includes(created.clientSecret));
    const [event] = await auditRows('identity.partner_created', created.id);
    assert.ok(event);
    assert.deepEqual(event.details, { name: 'Colis Express', scopes: ['webhooks:shipments'] });
    assert.equal(event.actorType, 'account');
  });

  test('a generated id when none is given', async () => {
    const created = await json<Client>(await admin('POST', '/v1/admin/partners', { name: 'Fournisseur', scopes: ['catalog:import'] }), 201);
    assert.match(created.id, /^partner-[0-9a-f]{16}$/);
  });

  test('the list pages through every client once, in id order', async () => {
    const prefix = unique('page');
    for (const n of [1, 2, 3]) await createClient(['catalog:import'], `${prefix}-${n}`);
    const pages: Client[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { items: Client[]; nextCursor: string | null } = await json(await admin('GET', `/v1/admin/partners${query}`), 200);
      assert.ok(page.items.length <= 2);
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const ids = pages.flat().map((client) => client.id);
    assert.deepEqual(ids, [...ids].sort(), 'id order');
    assert.equal(new Set(ids).size, ids.length, 'no client twice');
    assert.deepEqual(ids.filter((id) => id.startsWith(prefix)), [`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
  });

  test('bad input → problem+json naming the field', async () => {
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { name: 'X', scopes: ['search:manage'] }), 422)), ['scopes.0']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { name: 'X', scopes: [] }), 422)), ['scopes']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { id: 'Has:Colon', name: 'X', scopes: ['catalog:import'] }), 422)), ['id']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { name: ' ', scopes: ['catalog:import'] }), 422)), ['name']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { name: 'X', scopes: ['catalog:import'], secret: 'mine' }), 422)), ['secret']);
    assert.deepEqual(fields(await problem(await admin('GET', '/v1/admin/partners?limit=101'), 400)), ['limit']);
    assert.deepEqual(fields(await problem(await admin('GET', '/v1/admin/partners?cursor=nope'), 400)), ['cursor']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners/Bad:Id/secret'), 400)), ['id']);
    const taken = await createClient(['catalog:import']);
    assert.deepEqual(fields(await problem(await admin('POST', '/v1/admin/partners', { id: taken.id, name: 'Again', scopes: ['catalog:import'] }), 409)), ['id']);
    await problem(await admin('POST', `/v1/admin/partners/${unique('nobody')}/secret`), 404);
    await problem(await admin('DELETE', `/v1/admin/partners/${unique('nobody')}`), 404);
  });

  test('only partners:manage: catalog manager 403, admin without MFA 403, anonymous 401', async () => {
    const body = JSON.stringify({ name: 'X', scopes: ['catalog:import'] });
    const manager = await signedInAs(config, 'catalog_manager');
    const adminWithoutMfa = await signedInAs(config, 'admin', { mfa: false });
    for (const headers of [manager.headers, adminWithoutMfa.headers]) {
      await problem(await fetch(url('/v1/admin/partners'), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }), 403);
      await problem(await fetch(url('/v1/admin/partners'), { headers }), 403);
    }
    await problem(await fetch(url('/v1/admin/partners'), { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 401);
  });
});

async function collectAll(): Promise<Client[]> {
  const all: Client[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Client[]; nextCursor: string | null } = await json(await admin('GET', `/v1/admin/partners?limit=100${cursor ? `&cursor=${cursor}` : ''}`), 200);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

describe('POST /v1/oauth/token (client credentials)', () => {
  let client: Required<Client>;
  before(async () => {
    client = await createClient(['catalog:import', 'webhooks:payments']);
  });

  test('HTTP Basic → a Bearer token for every granted scope, not cached, audited', async () => {
    const response = await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(client.id, client.clientSecret) });
    const token = await json<Token>(response, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(token).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'no refresh token for client credentials');
    assert.equal(token.token_type, 'Bearer');
    assert.equal(token.expires_in, config.ACCESS_TOKEN_TTL_SECONDS);
    assert.deepEqual(token.scope.split(' ').sort(), ['catalog:import', 'webhooks:payments']);
    const claims = decodeJwt(token.access_token);
    assert.equal(claims.sub, `partner:${client.id}`);
    assert.equal(claims.client_id, client.id);
    const issued = await auditRows('identity.partner_token_issued', client.id);
    assert.ok(issued.some((event) => event.actorType === 'partner' && event.actorId === client.id));
  });

  test('a catalog:import token may import products and may not manage search synonyms', async () => {
    const token = await json<Token>(await tokenRequest({ grant_type: 'client_credentials', scope: 'catalog:import' }, { auth: basic(client.id, client.clientSecret) }), 200);
    assert.equal(token.scope, 'catalog:import');
    const imported = await json<{ id: string; status: string }>(await importOne(token.access_token), 202);
    assert.ok(imported.id);
    const refused = await problem(await replaceSynonyms(token.access_token), 403);
    assert.match(refused.detail ?? '', /search:manage/);
  });

  test('client_id and client_secret in the body work too', async () => {
    const token = await json<Token>(await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.clientSecret, scope: 'webhooks:payments' }), 200);
    assert.equal(token.scope, 'webhooks:payments');
    // A token scoped to payment webhooks only is refused by the import route.
    await problem(await importOne(token.access_token), 403);
  });

  test('a wrong secret and an unknown client get the same 401 invalid_client, with WWW-Authenticate Basic', async () => {
    const wrong = await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(client.id, `${client.clientSecret.slice(0, -2)}xx`) });
    const unknown = await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(unique('ghost'), client.clientSecret) });
    const answers: Problem[] = [];
    for (const response of [wrong, unknown]) {
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="comptoir"/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const body = await problem(response, 401);
      assert.equal(body.error, 'invalid_client');
      assert.equal(body.type, 'https://comptoir.dev/problems/invalid-client');
      answers.push(body);
    }
    const comparable = (p: Problem) => ({ ...p, requestId: undefined });
    assert.deepEqual(comparable(answers[0]!), comparable(answers[1]!), 'nothing tells an unknown client from a wrong secret');
    // The audit log knows what the caller is not told.
    const failures = await auditRows('identity.partner_token_refused', client.id);
    assert.deepEqual(failures.map((event) => event.details), [{ error: 'invalid_client', reason: 'wrong_secret' }]);
  });

  test('no credentials, or a non-Basic Authorization header → invalid_client', async () => {
    assert.equal((await problem(await tokenRequest({ grant_type: 'client_credentials' }), 401)).error, 'invalid_client');
    assert.equal((await problem(await tokenRequest({ grant_type: 'client_credentials', client_id: client.id }), 401)).error, 'invalid_client');
    assert.equal((await problem(await tokenRequest({ grant_type: 'client_credentials' }, { auth: 'Basic !!!' }), 401)).error, 'invalid_client');
  });

  test('asking for a scope the client does not hold → 400 invalid_scope naming scope, no token', async () => {
    for (const scope of ['search:manage', 'catalog:import webhooks:shipments', 'nonsense']) {
      const body = await problem(await tokenRequest({ grant_type: 'client_credentials', scope }, { auth: basic(client.id, client.clientSecret) }), 400);
      assert.equal(body.error, 'invalid_scope');
      assert.deepEqual(fields(body), ['scope']);
    }
  });

  test('other grant types → 400 unsupported_grant_type; malformed requests → 400 invalid_request naming the parameter', async () => {
    const auth = basic(client.id, client.clientSecret);
    const unsupported = await problem(await tokenRequest({ grant_type: 'password', username: 'a', password: 'b' }, { auth }), 400);
    assert.equal(unsupported.error, 'unsupported_grant_type');
    assert.deepEqual(fields(unsupported), ['grant_type']);

    const missing = await problem(await tokenRequest({}, { auth }), 400);
    assert.equal(missing.error, 'invalid_request');
    assert.deepEqual(fields(missing), ['grant_type']);

    const repeated = await problem(await tokenRequest({}, { auth, body: 'grant_type=client_credentials&scope=catalog:import&scope=webhooks:payments' }), 400);
    assert.equal(repeated.error, 'invalid_request');
    assert.deepEqual(fields(repeated), ['scope'], 'RFC 6749 §3.2: a parameter at most once');

    const oversize = await problem(await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: 'x'.repeat(201) }), 400);
    assert.deepEqual(fields(oversize), ['client_secret']);

    const twoMethods = await problem(await tokenRequest({ grant_type: 'client_credentials', client_secret: client.clientSecret }, { auth }), 400);
    assert.equal(twoMethods.error, 'invalid_request', 'RFC 6749 §2.3: one authentication method per request');

    // JSON is not how OAuth clients talk to a token endpoint.
    const asJson = await problem(await tokenRequest({}, { contentType: 'application/json', body: JSON.stringify({ grant_type: 'client_credentials' }) }), 415);
    assert.deepEqual(fields(asJson), ['content-type']);
  });

  test('rotating the secret: the old one stops at once, the new one works; audited', async () => {
    const rotating = await createClient(['catalog:import']);
    const rotated = await json<Required<Client>>(await admin('POST', `/v1/admin/partners/${rotating.id}/secret`), 200);
    assert.notEqual(rotated.clientSecret, rotating.clientSecret);
    await problem(await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(rotating.id, rotating.clientSecret) }), 401);
    await json<Token>(await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(rotating.id, rotated.clientSecret) }), 200);
    assert.equal((await auditRows('identity.partner_secret_rotated', rotating.id)).length, 1);
  });

  test('revoking: the live token stops at its next request, no new token, no new secret; DELETE again is a no-op', async () => {
    const doomed = await createClient(['catalog:import']);
    const token = await json<Token>(await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(doomed.id, doomed.clientSecret) }), 200);
    await json(await importOne(token.access_token), 202);

    assert.equal((await admin('DELETE', `/v1/admin/partners/${doomed.id}`)).status, 204);
    const cut = await problem(await importOne(token.access_token), 401);
    assert.match(cut.detail ?? '', /session has ended/);
    const refused = await problem(await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(doomed.id, doomed.clientSecret) }), 401);
    assert.equal(refused.error, 'invalid_client');
    const failure = await auditRows('identity.partner_token_refused', doomed.id);
    assert.deepEqual(failure.map((event) => event.details), [{ error: 'invalid_client', reason: 'revoked' }], 'a revoked client still presenting its secret is on record');
    await problem(await admin('POST', `/v1/admin/partners/${doomed.id}/secret`), 409);
    assert.equal((await admin('DELETE', `/v1/admin/partners/${doomed.id}`)).status, 204);
    assert.equal((await auditRows('identity.partner_revoked', doomed.id)).length, 1, 'revoked once, recorded once');
    const listed = (await collectAll()).find((c) => c.id === doomed.id);
    assert.ok(listed?.revokedAt);
  });
});

describe('npm run identity -- create-partner', () => {
  test('prints the secret once, and the secret works at the token endpoint', async () => {
    const id = unique('cli-partner');
    const printed: string[] = [];
    const original = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      await createPartner(['--id', id, '--name', 'Transporteur', '--scopes', 'webhooks:shipments,catalog:import'], config);
    } finally {
      console.log = original;
    }
    const secret = /client_secret=(\S+)/.exec(printed.join('\n'))?.[1];
    assert.ok(secret, printed.join('\n'));
    const token = await json<Token>(await tokenRequest({ grant_type: 'client_credentials' }, { auth: basic(id, secret) }), 200);
    assert.deepEqual(token.scope.split(' ').sort(), ['catalog:import', 'webhooks:shipments']);
    await assert.rejects(createPartner(['--id', id, '--name', 'Again', '--scopes', 'catalog:import'], config), /exists already/);
    await assert.rejects(createPartner(['--id', unique('cli'), '--name', 'X', '--scopes', 'search:manage'], config), /--scopes/);
    await assert.rejects(createPartner(['--id', 'UPPER', '--name', 'X', '--scopes', 'catalog:import'], config), /--id/);
  });
});

/**
 * Staff provisioning and role changes over HTTP: an admin creates staff accounts, changes roles (which
 * ends the account's sessions so its next tokens carry the new role), and cannot demote themselves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { randomUUID } from 'node:crypto';
import { accounts, auditLog, sessions } from '../../db/schema/identity';
import { startSession } from '../../identity/sessions';
import createStaff from '../../scripts/identity/create-staff';
import { verifyPassword } from '../../platform/passwords';
import { adminHeaders, signedInAs } from '../support/identity';
import { startApi, testConfig } from '../support/stack';
import { json, problem, fields } from '../support/http';

const config = testConfig('staff-roles');
let api: Awaited<ReturnType<typeof startApi>>;
before(async () => {
  api = await startApi(config);
});
after(() => api?.stop());

type AccountView = { id: string; role: string; status: string; createdAt: string; previousRole?: string; sessionsRevoked?: number };

const url = (path: string) => `${api.baseUrl}${path}`;
const email = (name: string) => `${name}-${randomUUID()}@staff.comptoir.dev`;




async function call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response> {
  return fetch(url(path), {
    method,
    headers: headers ? { ...headers, 'content-type': 'application/json' } : await adminHeaders(config),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const setRole = (id: string, role: string, headers?: Record<string, string>) => call('PATCH', `/v1/admin/accounts/${id}/role`, { role }, headers);
/** A catalog:import route: 404 for an unknown import when allowed, 403 when not. */
const probeCatalog = (headers: Record<string, string>) => fetch(url('/v1/admin/catalog/imports/no-such-import'), { headers });

async function auditEvents(action: string, targetId: string) {
  return api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)));
}

describe('POST /v1/admin/staff', () => {
  test('creates a staff account without a password, verified, audited without the email; answers no personal data', async () => {
    const address = email('support');
    const response = await call('POST', '/v1/admin/staff', { email: address, role: 'support' });
    const created = await json<AccountView>(response, 201);
    assert.equal(response.headers.get('location'), `/v1/admin/accounts/${created.id}`);
    assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'id', 'role', 'status']);
    assert.equal(created.role, 'support');
    assert.equal(created.status, 'active');

    const [row] = await api.deps.db.select().from(accounts).where(eq(accounts.id, created.id));
    assert.equal(row!.passwordHash, null, 'signs in through the staff identity provider');
    assert.ok(row!.emailVerifiedAt);
    const [event] = await auditEvents('identity.staff_created', created.id);
    assert.deepEqual(event!.details, { role: 'support' });
    assert.ok(!JSON.stringify(event).includes(address.split('@')[0]!), 'no email in the audit log');
  });

  test('the same email again (any case) → 409 naming email', async () => {
    const address = email('ops');
    await json(await call('POST', '/v1/admin/staff', { email: address, role: 'ops' }), 201);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { email: address.toUpperCase(), role: 'admin' }), 409)), ['email']);
  });

  test('bad input → 422 naming the field; customers are not provisioned here', async () => {
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { email: email('c'), role: 'customer' }), 422)), ['role']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { email: 'not-an-email', role: 'ops' }), 422)), ['email']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { email: `${'a'.repeat(250)}@x.fr`, role: 'ops' }), 422)), ['email']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { email: email('p'), role: 'ops', password: 'x' }), 422)), ['password']);
    assert.deepEqual(fields(await problem(await call('POST', '/v1/admin/staff', { role: 'ops' }), 422)), ['email']);
  });

  test('only staff:manage: catalog manager 403, admin without MFA 403, anonymous 401', async () => {
    const body = { email: email('x'), role: 'ops' };
    await problem(await call('POST', '/v1/admin/staff', body, (await signedInAs(config, 'catalog_manager')).headers), 403);
    await problem(await call('POST', '/v1/admin/staff', body, (await signedInAs(config, 'admin', { mfa: false })).headers), 403);
    await problem(await call('POST', '/v1/admin/staff', body, {}), 401);
  });
});

describe('GET /v1/admin/accounts/{id}', () => {
  test('role, status and creation time only; 404 unknown; 400 naming a malformed id', async () => {
    const customer = await signedInAs(config, 'customer');
    const view = await json<AccountView>(await call('GET', `/v1/admin/accounts/${customer.accountId}`), 200);
    assert.deepEqual(view, { id: customer.accountId, role: 'customer', status: 'active', createdAt: view.createdAt });
    assert.ok(!Number.isNaN(Date.parse(view.createdAt)));
    await problem(await call('GET', `/v1/admin/accounts/${randomUUID()}`), 404);
    assert.deepEqual(fields(await problem(await call('GET', '/v1/admin/accounts/42'), 400)), ['id']);
    await problem(await call('GET', `/v1/admin/accounts/${customer.accountId}`, undefined, (await signedInAs(config, 'support')).headers), 403);
  });
});

describe('PATCH /v1/admin/accounts/{id}/role', () => {
  test('a demotion ends every session at once; the next session carries the new role; audited with from/to', async () => {
    const manager = await signedInAs(config, 'catalog_manager');
    const second = await startSession({ db: api.deps.db, config, tokens: api.deps.tokens }, manager.accountId, ['pwd', 'otp']);
    assert.equal((await probeCatalog(manager.headers)).status, 404, 'a catalog manager may read imports');

    const changed = await json<AccountView>(await setRole(manager.accountId, 'support'), 200);
    assert.equal(changed.role, 'support');
    assert.equal(changed.previousRole, 'catalog_manager');
    assert.equal(changed.sessionsRevoked, 2);

    const cut = await problem(await probeCatalog(manager.headers), 401);
    assert.match(cut.detail ?? '', /session has ended/, 'the old role does not linger in a live token');
    await problem(await probeCatalog({ authorization: `Bearer ${second.access_token}` }), 401);
    await problem(await call('POST', '/v1/auth/refresh', { refresh_token: manager.tokens.refresh_token }, {}), 401);
    const live = await api.deps.db.select().from(sessions).where(and(eq(sessions.accountId, manager.accountId)));
    assert.ok(live.every((session) => session.revokedReason === 'role_changed'));

    const next = await startSession({ db: api.deps.db, config, tokens: api.deps.tokens }, manager.accountId, ['pwd', 'otp']);
    assert.equal(decodeJwt(next.access_token).role, 'support');
    await problem(await probeCatalog({ authorization: `Bearer ${next.access_token}` }), 403);

    const [event] = await auditEvents('identity.role_changed', manager.accountId);
    assert.deepEqual(event!.details, { from: 'catalog_manager', to: 'support', sessionsRevoked: 2 });
    assert.equal(event!.actorType, 'account');
    assert.ok(event!.actorId);
  });

  test('a promotion works the same way; setting the role an account already has changes and records nothing', async () => {
    const customer = await signedInAs(config, 'customer');
    const promoted = await json<AccountView>(await setRole(customer.accountId, 'catalog_manager'), 200);
    assert.deepEqual([promoted.previousRole, promoted.role, promoted.sessionsRevoked], ['customer', 'catalog_manager', 1]);
    const again = await json<AccountView>(await setRole(customer.accountId, 'catalog_manager'), 200);
    assert.deepEqual([again.previousRole, again.role, again.sessionsRevoked], ['catalog_manager', 'catalog_manager', 0]);
    assert.equal((await auditEvents('identity.role_changed', customer.accountId)).length, 1);
  });

  test('an admin cannot change their own role (409 naming role), and stays admin', async () => {
    const me = await signedInAs(config, 'admin');
    const refused = await problem(await setRole(me.accountId, 'support', me.headers), 409);
    assert.deepEqual(fields(refused), ['role']);
    const [row] = await api.deps.db.select({ role: accounts.role }).from(accounts).where(eq(accounts.id, me.accountId));
    assert.equal(row!.role, 'admin');
    assert.equal((await probeCatalog(me.headers)).status, 404, 'the session is untouched');
    // Asking for the role one already has is no demotion.
    assert.equal((await json<AccountView>(await setRole(me.accountId, 'admin', me.headers), 200)).sessionsRevoked, 0);
  });

  test('bad input and unknown accounts → 4xx problem+json naming the field', async () => {
    const target = await signedInAs(config, 'support');
    assert.deepEqual(fields(await problem(await setRole(target.accountId, 'superuser'), 422)), ['role']);
    assert.deepEqual(fields(await problem(await call('PATCH', `/v1/admin/accounts/${target.accountId}/role`, { role: 'ops', why: 'x' }), 422)), ['why']);
    assert.deepEqual(fields(await problem(await setRole('not-a-uuid', 'ops'), 400)), ['id']);
    await problem(await setRole(randomUUID(), 'ops'), 404);
    await problem(await setRole(target.accountId, 'ops', target.headers), 403);
    await problem(await setRole(target.accountId, 'ops', {}), 401);
  });
});

describe('npm run identity -- create-staff', () => {
  test('with a password: hashed, never printed; without: SSO only; refused inputs name the option', async () => {
    const printed: string[] = [];
    const original = console.log;
    console.log = (line: string) => printed.push(line);
    const withPassword = email('first-admin');
    const password = 'correct horse battery staple 7';
    try {
      await createStaff(['--email', withPassword, '--role', 'admin', '--password', password], config);
      await createStaff(['--email', email('sso-only'), '--role', 'ops'], config);
    } finally {
      console.log = original;
    }
    assert.ok(!printed.join('\n').includes(password));
    const accountId = /staff account ([0-9a-f-]{36})/.exec(printed[0]!)?.[1];
    const [row] = await api.deps.db.select().from(accounts).where(eq(accounts.id, accountId!));
    assert.equal(row!.role, 'admin');
    assert.ok(await verifyPassword(password, row!.passwordHash!));
    const [event] = await auditEvents('identity.staff_created', accountId!);
    assert.equal(event!.actorType, 'system');

    await assert.rejects(createStaff(['--email', email('weak'), '--role', 'ops', '--password', 'short'], config), /--password/);
    await assert.rejects(createStaff(['--email', email('c'), '--role', 'customer'], config), /--role/);
    await assert.rejects(createStaff(['--email', 'nope', '--role', 'ops'], config), /--email/);
    await assert.rejects(createStaff(['--email', withPassword, '--role', 'ops'], config), /exists/);
  });
});

/**
 * Every route of the OpenAPI document × every role, anonymous and a partner: each route must name its
 * permission (`x-permission`), and each caller must get exactly what identity/permissions.ts grants —
 * 401 without a token, 403 without the permission, anything else with it. A route added without a rule,
 * or guarded differently from what it declares, fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { upsertPartnerClient } from '../../db/identity/partners';
import { isAllowed, partnerScopes, permissions, roles, type Permission, type Principal } from '../../identity/permissions';
import { hashPassword } from '../../platform/passwords';
import { signedInAs } from '../support/identity';
import { testConfig } from '../support/stack';

const config = testConfig('route-permissions');
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

type Operation = { 'x-permission'?: string; requestBody?: { content?: Record<string, unknown> } };
type Caller = { name: string; principal?: Principal; headers(): Promise<Record<string, string>> };

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;
const placeholder = '00000000-0000-4000-8000-000000000000';

/** A person of `role`, signed in afresh for each call, so that calls with effects (logout, erasure) do not disturb the next ones. */
function person(role: (typeof roles)[number], mfa = true): Caller {
  return {
    name: mfa ? role : `${role} without MFA`,
    principal: { kind: 'account', role, accountId: placeholder, sessionId: placeholder, authMethods: mfa ? ['pwd', 'otp'] : ['pwd'] },
    headers: async () => (await signedInAs(config, role, { mfa })).headers,
  };
}

describe('route × role', () => {
  const callers: Caller[] = [{ name: 'anonymous', headers: async () => ({}) }];
  for (const role of roles) callers.push(person(role));
  callers.push(person('admin', false));

  before(async () => {
    await upsertPartnerClient(deps.db, { id: 'matrix-partner', name: 'Matrix', secretHash: await hashPassword(randomBytes(16).toString('hex')), scopes: [...partnerScopes] });
    const token = (await deps.tokens.signPartnerToken({ clientId: 'matrix-partner', scopes: [...partnerScopes] })).accessToken;
    callers.push({
      name: 'partner (every scope)',
      principal: { kind: 'partner', clientId: 'matrix-partner', scopes: [...partnerScopes] },
      headers: async () => ({ authorization: `Bearer ${token}` }),
    });
  });

  test('every documented route names a known permission', async () => {
    const doc = (await (await app.request('http://local/openapi.json')).json()) as { paths: Record<string, Partial<Record<(typeof methods)[number], Operation>>> };
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of methods) {
        const operation = item[method];
        if (!operation) continue;
        const permission = operation['x-permission'];
        if (!permission || !(permissions as readonly string[]).includes(permission)) missing.push(`${method.toUpperCase()} ${path} (${permission ?? 'no x-permission'})`);
      }
    }
    assert.deepEqual(missing, [], 'routes without a known permission');
    assert.ok(Object.keys(doc.paths).length >= 20, 'the document lists the API');
  });

  test('each caller gets 401, 403 or through exactly as the permission table says', async () => {
    const doc = (await (await app.request('http://local/openapi.json')).json()) as { paths: Record<string, Partial<Record<(typeof methods)[number], Operation>>> };
    const wrong: string[] = [];
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of methods) {
        const operation = item[method];
        if (!operation) continue;
        const permission = operation['x-permission'] as Permission;
        const url = `http://local${path.replace(/\{[^}]+\}/g, placeholder)}`;
        const types = Object.keys(operation.requestBody?.content ?? {});
        const contentType = types.includes('application/json') || types.length === 0 ? 'application/json' : types[0]!;
        for (const caller of callers) {
          const headers: Record<string, string> = { ...(await caller.headers()) };
          const init: RequestInit = { method: method.toUpperCase(), headers };
          if (method !== 'get' && method !== 'delete') {
            headers['content-type'] = contentType;
            init.body = contentType === 'application/json' ? '{}' : '';
          }
          const response = await app.request(url, init);
          const status = response.status;
          // Only the guard's refusals count; a route's own 401 about credentials in its body (a wrong
          // client secret, a bad refresh token) is the route working, not the guard.
          const type = status === 401 || status === 403 ? ((await response.json()) as { type?: string }).type : undefined;
          const refusedBy = type === 'https://comptoir.dev/problems/unauthorized' ? 401 : type === 'https://comptoir.dev/problems/forbidden' ? 403 : 'through';
          const expected = permission === 'public' || isAllowed(caller.principal, permission) ? 'through' : caller.principal ? 403 : 401;
          const got = refusedBy;
          checked++;
          if (got !== expected) wrong.push(`${caller.name}: ${method.toUpperCase()} ${path} [${permission}] expected ${expected}, got ${status}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 100, `only ${checked} calls checked`);
  });
});

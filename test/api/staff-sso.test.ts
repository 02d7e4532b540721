/**
 * Staff single sign-on against a real OpenID Connect provider (`oidc-provider`) started here: the test
 * drives the authorization-code flow over HTTP (authorize → login → consent → code → token), takes the
 * ID token the provider signed, and exchanges it at POST /v1/auth/sso. A second provider plays another
 * issuer; tokens the test signs itself with the provider's own key cover expiry and age.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
// @ts-expect-error oidc-provider ships no type definitions; the few calls made here are typed below.
import OidcProvider from 'oidc-provider';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { auditLog, externalIdentities } from '../../db/schema/identity';
import { adminHeaders, signedInAs } from '../support/identity';
import { freePort, startApi, testConfig } from '../support/stack';
import type { Config } from '../../platform/config';
import { problem } from '../support/http';

interface Interaction {
  prompt: { name: string };
  params: Record<string, unknown>;
  session?: { accountId?: string };
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: unknown, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}
const Provider = OidcProvider as new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

interface IdpUser {
  email?: string;
  emailVerified?: boolean;
  /** What the login step reports as RFC 8176 methods; `mfa` means the person passed a second factor. */
  amr: string[];
}

const audience = 'comptoir-staff';
const redirectUri = 'http://127.0.0.1/sso/callback';

/** A real OpenID provider on a free port, with RS256 and ES256 keys the test also holds. */
async function startIdp(clients: { id: string; alg: 'RS256' | 'ES256' }[]) {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk: JWK = { ...(await exportJWK(rsa.privateKey)), kid: `rsa-${randomBytes(3).toString('hex')}`, alg: 'RS256', use: 'sig' };
  const ecJwk: JWK = { ...(await exportJWK(ec.privateKey)), kid: `ec-${randomBytes(3).toString('hex')}`, alg: 'ES256', use: 'sig' };
  const users = new Map<string, IdpUser>();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.id,
      client_secret: `secret-${client.id}`,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: client.alg,
    })),
    jwks: { keys: [rsaJwk, ecJwk] },
    // `amr` rides in the ID token with the openid scope; email claims too (not only at userinfo).
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    async findAccount(_ctx: unknown, sub: string) {
      const user = users.get(sub);
      return user && { accountId: sub, claims: async () => ({ sub, email: user.email, email_verified: user.emailVerified }) };
    },
  });
  const callback = provider.callback();
  // The provider's interaction pages, played by a person who logs in as `login_hint` and consents.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        const sub = String(details.params.login_hint);
        const user = users.get(sub);
        if (!user) throw new Error(`no IdP user ${sub}`);
        await provider.interactionFinished(req, res, { login: { accountId: sub, amr: user.amr } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: details.session!.accountId!, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((error: Error) => {
      res.statusCode = 500;
      res.end(error.message);
    });
  });

  /** Drives the authorization-code flow with PKCE as a browser and a relying party would, and returns the ID token. */
  async function idToken(sub: string, clientId = audience): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const cookies = new Map<string, string>();
    let location = `${issuer}/auth?${new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      scope: 'openid email',
      redirect_uri: redirectUri,
      login_hint: sub,
      state: randomUUID(),
      nonce: randomUUID(),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })}`;
    for (let hops = 0; !location.startsWith(redirectUri); hops++) {
      assert.ok(hops < 10, 'the authorization flow ends at the redirect URI');
      const response = await fetch(location, { redirect: 'manual', headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') } });
      for (const cookie of response.headers.getSetCookie()) {
        const pair = cookie.split(';')[0]!;
        cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      const next = response.headers.get('location');
      assert.ok(next && response.status >= 300 && response.status < 400, `${response.status} ${await response.text()}`);
      location = new URL(next, location).href;
    }
    const code = new URL(location).searchParams.get('code');
    assert.ok(code, location);
    const token = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:secret-${clientId}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
    });
    const body = (await token.json()) as { id_token?: string };
    assert.equal(token.status, 200, JSON.stringify(body));
    return body.id_token!;
  }

  /** A token signed with the provider's own RSA key, with whatever claims a test needs (expired, old…). */
  async function sign(claims: Record<string, unknown>, times: { iat: number; exp: number }, issuerClaim = issuer): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: rsaJwk.kid! })
      .setIssuer(issuerClaim)
      .setAudience(audience)
      .setIssuedAt(times.iat)
      .setExpirationTime(times.exp)
      .sign(await importJWK(rsaJwk, 'RS256'));
  }

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    users,
    idToken,
    sign,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Idp = Awaited<ReturnType<typeof startIdp>>;
type Tokens = { access_token: string; token_type: string; expires_in: number; refresh_token: string };

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}


describe('POST /v1/auth/sso against a real OpenID provider', () => {
  let idp: Idp;
  let otherIdp: Idp;
  let config: Config;
  let api: Awaited<ReturnType<typeof startApi>>;

  before(async () => {
    idp = await startIdp([
      { id: audience, alg: 'RS256' },
      { id: 'another-app', alg: 'ES256' },
    ]);
    otherIdp = await startIdp([{ id: audience, alg: 'ES256' }]);
    config = testConfig('staff-sso', { STAFF_OIDC_ISSUER: idp.issuer, STAFF_OIDC_JWKS_URL: idp.jwksUrl, STAFF_OIDC_AUDIENCE: audience });
    api = await startApi(config);
  });
  after(async () => {
    await api?.stop();
    await idp?.close();
    await otherIdp?.close();
  });

  const sso = (body: unknown) => fetch(`${api.baseUrl}/v1/auth/sso`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const exchange = async (idToken: string) => json<Tokens>(await sso({ idToken }), 200);
  /** A catalog:import route: 404 for an unknown import when the caller holds the permission, 403 when not. */
  const probe = (tokens: Tokens) => fetch(`${api.baseUrl}/v1/admin/catalog/imports/no-such-import`, { headers: { authorization: `Bearer ${tokens.access_token}` } });

  async function staffAccount(role: string): Promise<{ id: string; email: string }> {
    const email = `${role}-${randomUUID()}@staff.comptoir.dev`;
    const response = await fetch(`${api.baseUrl}/v1/admin/staff`, { method: 'POST', headers: await adminHeaders(config), body: JSON.stringify({ email, role }) });
    return { ...(await json<{ id: string }>(response, 201)), email };
  }

  const audits = (action: string, targetId: string) =>
    api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)));
  const links = (accountId: string) => api.deps.db.select().from(externalIdentities).where(eq(externalIdentities.accountId, accountId));

  test('first sign-in links the verified email of a staff account; MFA at the issuer gives a staff session; audited', async () => {
    const manager = await staffAccount('catalog_manager');
    const sub = `u-${randomUUID()}`;
    idp.users.set(sub, { email: manager.email, emailVerified: true, amr: ['pwd', 'mfa'] });
    const idToken = await idp.idToken(sub);
    assert.equal(decodeProtectedHeader(idToken).alg, 'RS256');
    assert.deepEqual(decodeJwt(idToken).amr, ['pwd', 'mfa'], 'the provider itself put amr in the ID token');

    const response = await sso({ idToken });
    const tokens = await json<Tokens>(response, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(tokens.token_type, 'Bearer');
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.sub, manager.id);
    assert.equal(claims.role, 'catalog_manager');
    assert.deepEqual(claims.amr, ['oidc', 'mfa']);
    assert.equal((await probe(tokens)).status, 404, 'staff permissions apply');

    assert.deepEqual((await links(manager.id)).map((link) => [link.issuer, link.subject]), [[idp.issuer, sub]]);
    assert.equal((await audits('identity.sso_linked', manager.id)).length, 1);
    const [login] = await audits('identity.sso_login', manager.id);
    assert.deepEqual(login!.details, { issuer: idp.issuer, mfa: true, linked: true });

    // Next time the link is used, whatever the email says now.
    idp.users.set(sub, { email: `renamed-${randomUUID()}@staff.comptoir.dev`, emailVerified: true, amr: ['pwd', 'otp'] });
    const again = await exchange(await idp.idToken(sub));
    assert.equal(decodeJwt(again.access_token).sub, manager.id);
    assert.equal((await audits('identity.sso_linked', manager.id)).length, 1, 'linked once');
    assert.equal((await audits('identity.sso_login', manager.id)).length, 2);
  });

  test('without MFA at the issuer the session is oidc only, and staff permissions are withheld', async () => {
    const manager = await staffAccount('catalog_manager');
    const sub = `u-${randomUUID()}`;
    idp.users.set(sub, { email: manager.email, emailVerified: true, amr: ['pwd'] });
    const tokens = await exchange(await idp.idToken(sub));
    assert.deepEqual(decodeJwt(tokens.access_token).amr, ['oidc']);
    const refused = await problem(await probe(tokens), 403);
    assert.match(refused.detail ?? '', /second factor/);
  });

  test('never a customer, an unknown address, or an unverified one: 403, nothing linked, the reason audited', async () => {
    const customer = await signedInAs(config, 'customer', { email: `shopper-${randomUUID()}@example.com` });
    const staff = await staffAccount('support');
    const cases: [IdpUser, string, string | undefined][] = [
      [{ email: customer.email, emailVerified: true, amr: ['mfa'] }, 'not_staff', customer.accountId],
      [{ email: `nobody-${randomUUID()}@staff.comptoir.dev`, emailVerified: true, amr: ['mfa'] }, 'no_account', undefined],
      [{ email: staff.email, emailVerified: false, amr: ['mfa'] }, 'email_not_verified', undefined],
      [{ email: staff.email, amr: ['mfa'] }, 'email_not_verified', undefined],
      [{ amr: ['mfa'] }, 'no_email', undefined],
    ];
    for (const [user, reason, accountId] of cases) {
      const sub = `u-${randomUUID()}`;
      idp.users.set(sub, user);
      const refused = await problem(await sso({ idToken: await idp.idToken(sub) }), 403);
      assert.equal(refused.detail, 'No active staff account is linked to this identity', 'one answer for every reason');
      const [failure] = await api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'identity.sso_failed'), eq(auditLog.requestId, refused.requestId!)));
      assert.equal(failure?.details.reason, reason, JSON.stringify(user));
      assert.equal(failure?.targetId ?? undefined, accountId);
    }
    assert.deepEqual(await links(customer.accountId), []);
    assert.deepEqual(await links(staff.id), []);
  });

  test('an account linked to one subject is not taken over by another subject with the same email', async () => {
    const ops = await staffAccount('ops');
    const first = `u-${randomUUID()}`;
    const second = `u-${randomUUID()}`;
    idp.users.set(first, { email: ops.email, emailVerified: true, amr: ['mfa'] });
    idp.users.set(second, { email: ops.email, emailVerified: true, amr: ['mfa'] });
    await exchange(await idp.idToken(first));
    await problem(await sso({ idToken: await idp.idToken(second) }), 403);
    assert.deepEqual((await links(ops.id)).map((link) => link.subject), [first]);
  });

  test('a linked account that is demoted to customer can no longer sign in through SSO', async () => {
    const support = await staffAccount('support');
    const sub = `u-${randomUUID()}`;
    idp.users.set(sub, { email: support.email, emailVerified: true, amr: ['mfa'] });
    await exchange(await idp.idToken(sub));
    const demoted = await fetch(`${api.baseUrl}/v1/admin/accounts/${support.id}/role`, { method: 'PATCH', headers: await adminHeaders(config), body: JSON.stringify({ role: 'customer' }) });
    assert.equal(demoted.status, 200);
    await problem(await sso({ idToken: await idp.idToken(sub) }), 403);
    const failures = await audits('identity.sso_failed', support.id);
    assert.deepEqual(failures.map((event) => event.details.reason), ['not_staff']);
  });

  test('invalid ID tokens → 401 naming idToken: wrong audience, another issuer, expired, too old, forged', async () => {
    const staff = await staffAccount('ops');
    const sub = `u-${randomUUID()}`;
    const user = { email: staff.email, emailVerified: true, amr: ['mfa'] };
    idp.users.set(sub, user);
    otherIdp.users.set(sub, user);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub, email: staff.email, email_verified: true, amr: ['mfa'] };

    const wrongAudience = await idp.idToken(sub, 'another-app');
    assert.equal(decodeProtectedHeader(wrongAudience).alg, 'ES256');
    const cases: [string, string, RegExp][] = [
      ['issued to another client of the same provider', wrongAudience, /aud/],
      ['from another real provider', await otherIdp.idToken(sub), /not signed by the staff identity provider/],
      ['signed with our provider\'s key but naming another issuer', await idp.sign(claims, { iat: now, exp: now + 600 }, otherIdp.issuer), /iss/],
      ['expired', await idp.sign(claims, { iat: now - 3600, exp: now - 1800 }), /expired/],
      ['issued too long ago, though not expired', await idp.sign(claims, { iat: now - 1200, exp: now + 1800 }), /more than 10 minutes ago/],
      ['unsigned (alg none)', new UnsecuredJWT(claims).setIssuer(idp.issuer).setAudience(audience).setIssuedAt().setExpirationTime('5m').encode(), /not signed/],
      [
        'HS256 with a guessable secret',
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(idp.issuer).setAudience(audience).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(audience)),
        /not signed/,
      ],
      ['not a JWT at all', 'hello', /not signed/],
    ];
    for (const [what, idToken, detail] of cases) {
      const refused = await problem(await sso({ idToken }), 401);
      assert.match(refused.detail ?? '', detail, what);
      assert.deepEqual(refused.errors?.map((e) => e.field), ['idToken'], what);
      const [failure] = await api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'identity.sso_failed'), eq(auditLog.requestId, refused.requestId!)));
      assert.ok(failure, `${what}: audited`);
    }
    assert.deepEqual(await links(staff.id), [], 'nothing was linked by a refused token');
    // The genuine token of the same person still works: the refusals were about the tokens.
    await exchange(await idp.idToken(sub));
  });

  test('bad bodies → 422 naming the field', async () => {
    assert.deepEqual((await problem(await sso({}), 422)).errors?.map((e) => e.field), ['idToken']);
    assert.deepEqual((await problem(await sso({ idToken: '' }), 422)).errors?.map((e) => e.field), ['idToken']);
    assert.deepEqual((await problem(await sso({ idToken: 'x'.repeat(8193) }), 422)).errors?.map((e) => e.field), ['idToken']);
    assert.deepEqual((await problem(await sso({ idToken: 'a.b.c', nonce: 'n' }), 422)).errors?.map((e) => e.field), ['nonce']);
  });
});

describe('POST /v1/auth/sso without, or with an unreachable, identity provider', () => {
  test('no STAFF_OIDC_ISSUER → 404 problem', async () => {
    const deps = connectApiDeps(testConfig('staff-sso-off'));
    try {
      const response = await createApp(deps).request('http://local/v1/auth/sso', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken: 'a.b.c' }) });
      const body = await problem(response, 404);
      assert.match(body.detail ?? '', /not configured/);
    } finally {
      await deps.close();
    }
  });

  test('the issuer\'s keys cannot be fetched → 503 with Retry-After, not a 401 blaming the token', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const deps = connectApiDeps(testConfig('staff-sso-down', { STAFF_OIDC_ISSUER: closed, STAFF_OIDC_JWKS_URL: `${closed}/jwks`, STAFF_OIDC_AUDIENCE: audience }));
    try {
      const now = Math.floor(Date.now() / 1000);
      const key = await generateKeyPair('ES256');
      const idToken = await new SignJWT({ sub: 'someone' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(closed).setAudience(audience).setIssuedAt(now).setExpirationTime(now + 300).sign(key.privateKey);
      const response = await createApp(deps).request('http://local/v1/auth/sso', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) });
      await problem(response, 503);
      assert.ok(response.headers.get('retry-after'));
    } finally {
      await deps.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import { importJWK, SignJWT, type JWK } from 'jose';
import { createHmac, randomUUID } from 'node:crypto';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { currentSigningKey, newestSigningKey } from '../../db/identity/signing-keys';
import { auditLog, sessions, signingKeys } from '../../db/schema/identity';
import { rotateSigningKey } from '../../identity/signing-keys';
import { TokenService } from '../../identity/tokens';
import { startSession } from '../../identity/sessions';
import { piiFields } from '../../identity/pii-fields';
import { decryptPii } from '../../platform/pii';
import { signingKeyRotationScheduleId } from '../../workflows/identity/definitions';
import { ensureSigningKeyRotationSchedule } from '../../workers/identity-schedules';
import { signedInAs } from '../support/identity';
import { recordHistory } from '../support/histories';
import { startWorker, testConfig, waitFor } from '../support/stack';

const config = testConfig('tokens');
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

const base = 'http://local';
/** A route any admin may read: 200 with a good token, 401 with a bad one. */
const guarded = `${base}/v1/admin/search/synonyms`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function expectStatus(response: Response, status: number): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Signs with the real current private key, with whatever claims and header the test wants to forge. */
async function forge(claims: Record<string, unknown>, options: { header?: Record<string, unknown>; exp?: number | string; aud?: string; iss?: string } = {}) {
  const current = (await currentSigningKey(deps.db))!;
  const privateJwk = JSON.parse(decryptPii(config.pii.keyring, current.privateJwkEnc, piiFields.signingKeyPrivate.context(current.kid))) as JWK;
  const key = await importJWK(privateJwk, 'ES256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt', ...options.header })
    .setIssuer(options.iss ?? config.JWT_ISSUER)
    .setAudience(options.aud ?? config.JWT_AUDIENCE)
    .setSubject(String(claims.sub))
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(options.exp ?? '5m')
    .sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens', () => {
  let admin: Awaited<ReturnType<typeof signedInAs>>;
  let adminClaims: Record<string, unknown>;
  before(async () => {
    admin = await signedInAs(config, 'admin');
    adminClaims = JSON.parse(Buffer.from(admin.tokens.access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  });

  test('a genuine token passes, and the JWKS publishes its key without private parts', async () => {
    await expectStatus(await app.request(guarded, { headers: admin.headers }), 200);
    const jwks = (await expectStatus(await app.request(`${base}/.well-known/jwks.json`), 200)) as { keys: JWK[] };
    const header = JSON.parse(Buffer.from(admin.tokens.access_token.split('.')[0]!, 'base64url').toString()) as { kid: string; alg: string; typ: string };
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const published = jwks.keys.find((key) => key.kid === header.kid);
    assert.ok(published, 'the signing key is published');
    assert.equal(published.kty, 'EC');
    assert.equal(published.d, undefined, 'no private key material');
    assert.equal(adminClaims.exp as number - (adminClaims.iat as number), config.ACCESS_TOKEN_TTL_SECONDS);
  });

  test('tampered tokens are refused with 401 invalid_token', async () => {
    const [header, payload, signature] = admin.tokens.access_token.split('.') as [string, string, string];
    const current = (await currentSigningKey(deps.db))!;
    const forgeries: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt', kid: current.kid })}.${payload}.`,
      'payload edited (sub swapped)': `${header}.${b64({ ...adminClaims, sub: randomUUID() })}.${signature}`,
      // HS256 keyed with the public key: the classic algorithm-confusion forgery.
      'HS256 with the public key as secret': (() => {
        const head = b64({ alg: 'HS256', typ: 'at+jwt', kid: current.kid });
        const mac = createHmac('sha256', JSON.stringify(current.publicJwk)).update(`${head}.${payload}`).digest('base64url');
        return `${head}.${payload}.${mac}`;
      })(),
      'unknown kid': await forge(adminClaims, { header: { kid: 'not-a-key' } }),
      'expired': await forge(adminClaims, { exp: Math.floor(Date.now() / 1000) - 120 }),
      'wrong audience': await forge(adminClaims, { aud: 'someone-else' }),
      'wrong issuer': await forge(adminClaims, { iss: 'https://evil.example' }),
      'not an access token (typ)': await forge(adminClaims, { header: { typ: 'JWT' } }),
      'no session claims': await forge({ sub: admin.accountId, role: 'admin' }),
      'session that does not exist': await forge({ ...adminClaims, sid: randomUUID() }),
      'garbage': 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(forgeries)) {
      const response = await app.request(guarded, { headers: bearer(token) });
      const body = await expectStatus(response, 401);
      assert.equal(response.headers.get('content-type'), 'application/problem+json', name);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/, name);
      assert.equal(body.type, 'https://comptoir.dev/problems/unauthorized', name);
    }
    // The same forge signs a token that passes when nothing is tampered with: the refusals above are about the tampering.
    await expectStatus(await app.request(guarded, { headers: bearer(await forge(adminClaims)) }), 200);
  });

  test('a customer token edited to claim the admin role fails its signature', async () => {
    const customer = await signedInAs(config, 'customer');
    const [header, payload, signature] = customer.tokens.access_token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    await expectStatus(await app.request(guarded, { headers: customer.headers }), 403);
    const promoted = `${header}.${b64({ ...claims, role: 'admin', amr: ['pwd', 'otp'] })}.${signature}`;
    await expectStatus(await app.request(guarded, { headers: bearer(promoted) }), 401);
  });
});

describe('refresh tokens', () => {
  test('each refresh returns a new pair; reusing a replaced token revokes the whole family', async () => {
    const person = await signedInAs(config, 'customer');
    const first = person.tokens.refresh_token;
    const second = (await expectStatus(await post('/v1/auth/refresh', { refresh_token: first }), 200)) as { access_token: string; refresh_token: string };
    assert.notEqual(second.refresh_token, first);
    const third = (await expectStatus(await post('/v1/auth/refresh', { refresh_token: second.refresh_token }), 200)) as { access_token: string; refresh_token: string };
    assert.notEqual(third.refresh_token, second.refresh_token);
    await expectStatus(await post('/v1/auth/logout', {}, bearer(third.access_token)), 204);

    const victim = await signedInAs(config, 'customer');
    const stolen = victim.tokens.refresh_token;
    const legit = (await expectStatus(await post('/v1/auth/refresh', { refresh_token: stolen }), 200)) as { access_token: string; refresh_token: string };
    const reuse = await expectStatus(await post('/v1/auth/refresh', { refresh_token: stolen }), 401);
    assert.equal(reuse.type, 'https://comptoir.dev/problems/invalid-grant');
    // The family is gone: the newest refresh token and the access token in flight both stop working.
    await expectStatus(await post('/v1/auth/refresh', { refresh_token: legit.refresh_token }), 401);
    await expectStatus(await app.request(`${base}/v1/auth/logout`, { method: 'POST', headers: bearer(legit.access_token) }), 401);
    const [session] = await deps.db.select().from(sessions).where(eq(sessions.accountId, victim.accountId));
    assert.equal(session!.revokedReason, 'refresh_token_reuse');
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.targetId, victim.accountId));
    assert.ok(audit.some((row) => row.action === 'identity.refresh_token_reused'));
  });

  test('concurrent refreshes with one token: at most one wins', async () => {
    const person = await signedInAs(config, 'customer');
    const results = await Promise.all([1, 2, 3].map(() => post('/v1/auth/refresh', { refresh_token: person.tokens.refresh_token }).then((r) => r.status)));
    assert.ok(results.filter((status) => status === 200).length <= 1, `statuses ${results}`);
    assert.ok(results.includes(401));
  });

  test('malformed refresh requests are 4xx problems naming the field', async () => {
    const missing = await expectStatus(await post('/v1/auth/refresh', {}), 422);
    assert.deepEqual((missing.errors as { field: string }[]).map((e) => e.field), ['refresh_token']);
    const oversize = await expectStatus(await post('/v1/auth/refresh', { refresh_token: 'x'.repeat(5000) }), 422);
    assert.deepEqual((oversize.errors as { field: string }[]).map((e) => e.field), ['refresh_token']);
    await expectStatus(await post('/v1/auth/refresh', { refresh_token: 'crt_made-up' }), 401);
  });
});

describe('logout', () => {
  test('ends this session: its access token and refresh token stop working at once; other sessions live on', async () => {
    const here = await signedInAs(config, 'customer');
    await expectStatus(await app.request(`${base}/v1/auth/logout`, { method: 'POST', headers: here.headers }), 204);
    await expectStatus(await app.request(`${base}/v1/auth/logout`, { method: 'POST', headers: here.headers }), 401);
    await expectStatus(await post('/v1/auth/refresh', { refresh_token: here.tokens.refresh_token }), 401);
  });

  test('everywhere: every session of the account ends', async () => {
    const one = await signedInAs(config, 'customer');
    const other = await startSession({ db: deps.db, config, tokens: deps.tokens }, one.accountId, ['pwd']);
    await expectStatus(await post('/v1/auth/logout', { everywhere: true }, one.headers), 204);
    await expectStatus(await post('/v1/auth/refresh', { refresh_token: other.refresh_token }), 401);
    await expectStatus(await app.request(`${base}/v1/auth/logout`, { method: 'POST', headers: bearer(other.access_token) }), 401);
    const bad = await expectStatus(await post('/v1/auth/logout', { everywhere: 'yes' }, (await signedInAs(config, 'customer')).headers), 422);
    assert.deepEqual((bad.errors as { field: string }[]).map((e) => e.field), ['everywhere']);
  });
});

describe('signing key rotation', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  before(async () => {
    worker = await startWorker(config);
  });
  after(async () => {
    await worker?.stop();
  });

  test('a rotation is idempotent for one request time', async () => {
    const requestedAt = new Date();
    const first = await rotateSigningKey(deps.db, config, requestedAt);
    const again = await rotateSigningKey(deps.db, config, requestedAt);
    assert.equal(first.rotated, true);
    assert.deepEqual(again, { kid: first.kid, rotated: false, pruned: 0 });
    const current = await deps.db.select().from(signingKeys).where(sql`${signingKeys.retiredAt} IS NULL`);
    assert.equal(current.length, 1);
  });

  test('the admin route rotates through Temporal: the new key is published first, signs a little later, and the old one verifies until its last token expires', async () => {
    const before = await signedInAs(config, 'admin');
    const oldKid = kidOf(before.tokens.access_token);
    const started = (await expectStatus(await app.request(`${base}/v1/admin/signing-keys/rotate`, { method: 'POST', headers: before.headers }), 202)) as { workflowId: string };
    const result = await deps.temporal.client.workflow.getHandle(started.workflowId).result();
    assert.equal(result.rotated, true);
    assert.notEqual(result.kid, oldKid);
    await recordHistory(deps.temporal.client, started.workflowId, 'signingKeyRotation');

    // Straight after the rotation the new key is published but not yet signing: every process must have it first.
    let fresh = freshApp();
    const jwks = (await expectStatus(await fresh.request(`${base}/.well-known/jwks.json`), 200)) as { keys: JWK[] };
    assert.ok(jwks.keys.some((key) => key.kid === oldKid) && jwks.keys.some((key) => key.kid === result.kid));
    assert.equal(kidOf((await signedInAs(config, 'admin')).tokens.access_token), oldKid);

    // Its time comes (moved forward here rather than waited for): new tokens carry the new kid, old ones still pass.
    await deps.db.update(signingKeys).set({ signsFrom: sql`now() - interval '1 second'` }).where(eq(signingKeys.kid, result.kid));
    await deps.db.update(signingKeys).set({ retiredAt: sql`now() - interval '1 second'` }).where(eq(signingKeys.kid, oldKid));
    fresh = freshApp();
    const after = await signedInAs(config, 'admin');
    assert.equal(kidOf(after.tokens.access_token), result.kid);
    await expectStatus(await fresh.request(guarded, { headers: before.headers }), 200);
    await expectStatus(await fresh.request(guarded, { headers: after.headers }), 200);

    // Beyond the old key's last token: it leaves the JWKS and its signatures are refused.
    await deps.db.update(signingKeys).set({ verifyUntil: sql`now() - interval '1 second'` }).where(eq(signingKeys.kid, oldKid));
    fresh = freshApp();
    const jwksLater = (await expectStatus(await fresh.request(`${base}/.well-known/jwks.json`), 200)) as { keys: JWK[] };
    assert.ok(!jwksLater.keys.some((key) => key.kid === oldKid));
    const refused = await fresh.request(guarded, { headers: before.headers });
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /unknown or retired key/);
    await expectStatus(await fresh.request(guarded, { headers: after.headers }), 200);

    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.targetId, result.kid));
    assert.ok(audit.some((row) => row.action === 'identity.signing_key_rotated'));
  });

  test('the Schedule exists with the configured interval, and triggering it rotates the key', async () => {
    const scheduleId = await ensureSigningKeyRotationSchedule(worker.context);
    assert.equal(scheduleId, signingKeyRotationScheduleId(config.TASK_QUEUE_PREFIX));
    await ensureSigningKeyRotationSchedule(worker.context); // a second worker starting: no error, still one Schedule
    const client = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE });
    const handle = client.schedule.getHandle(scheduleId);
    const described = await handle.describe();
    assert.equal(described.spec.intervals?.[0]?.every, config.SIGNING_KEY_ROTATION_DAYS * 86_400_000);
    const kidBefore = (await newestSigningKey(deps.db))!.kid;
    await handle.trigger();
    await waitFor(async () => (await newestSigningKey(deps.db))!.kid !== kidBefore, { what: 'the scheduled rotation' });
    await handle.delete();
  });

  test('a token service with an empty cache verifies a key made by another process', async () => {
    const other = new TokenService({ db: deps.db, config });
    const person = await signedInAs(config, 'customer');
    const principal = await other.verify(person.tokens.access_token);
    assert.equal(principal.kind, 'account');
  });
});

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

/** An API as a newly started process would be: no cached keys. */
const opened: ReturnType<typeof connectApiDeps>[] = [];
function freshApp() {
  const fresh = connectApiDeps(config);
  opened.push(fresh);
  return createApp(fresh);
}
after(() => Promise.all(opened.map((each) => each.close())));

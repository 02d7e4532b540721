import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { emailLookupHash, insertAccount } from '../../identity/accounts';
import { issueOneTimeToken } from '../../identity/one-time-tokens';
import { createLogger } from '../../platform/logger';
import { hashPassword } from '../../platform/passwords';
import { lockoutKey, rateLimiterFor, rateLimitKey, rateLimitRules } from '../../platform/rate-limit';
import { freePort, startApi, testConfig } from '../support/stack';

type Problem = { type: string; title: string; status: number; detail?: string; instance?: string };

const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const prefix = `${process.env.REDIS_KEY_PREFIX ?? 'comptoir-test:'}rate-limits-${run}:`;
const password = 'Une théière en fonte de 1908';
const wrongPassword = 'certainly not the password';

let addressCount = 0;
/** A client address of its own (TEST-NET-3), reported through the trusted proxy header. */
const freshIp = () => {
  addressCount++;
  return `203.0.${Math.floor(addressCount / 250)}.${(addressCount % 250) + 1}`;
};
const newEmail = (name: string) => `${name}-${run}-${randomBytes(3).toString('hex')}@example.com`;
/** Every address used here, to prove none of them reaches a Redis key. */
const emailsUsed: string[] = [];
const email = (name: string) => {
  const value = newEmail(name);
  emailsUsed.push(value);
  return value;
};

const retryAfterOf = (response: Response) => Number(response.headers.get('retry-after'));

async function assertTooMany(response: Response): Promise<Problem> {
  const text = await response.text();
  assert.equal(response.status, 429, text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  assert.match(response.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/, 'Retry-After in whole seconds');
  const body = JSON.parse(text) as Problem;
  assert.equal(body.type, 'https://comptoir.dev/problems/rate-limited');
  return body;
}

describe('rate limits and lock-out on the sign-in, registration and reset routes', () => {
  const config = testConfig('rate-limits', { TRUST_PROXY: 'true', REDIS_KEY_PREFIX: prefix, RATE_LIMIT_API_PER_MINUTE: '300' });
  let api: Awaited<ReturnType<typeof startApi>>;
  const raw = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });

  before(async () => {
    api = await startApi(config);
    await raw.connect();
  });
  after(async () => {
    raw.disconnect();
    await api?.stop();
  });

  const post = (path: string, body: unknown, ip = freshIp()) =>
    fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });
  const login = (address: string, pass: string, ip?: string) => post('/v1/auth/login', { email: address, password: pass }, ip);

  async function verifiedAccount(name: string): Promise<{ email: string; id: string }> {
    const address = email(name);
    const id = await insertAccount(api.deps.db, config, { email: address, passwordHash: await hashPassword(password), emailVerified: true });
    return { email: address, id };
  }

  const limiter = () => rateLimiterFor(api.deps.redis, api.deps.logger);

  test('sign-in: the 11th attempt from one address within 15 minutes is refused, other addresses are not', async () => {
    const ip = freshIp();
    // Different unknown emails, so only the per-address rule can bite.
    for (let i = 0; i < rateLimitRules.login.ip.limit; i++) assert.equal((await login(email(`ip-${i}`), wrongPassword, ip)).status, 401);
    const refused = await login(email('ip-last'), wrongPassword, ip);
    await assertTooMany(refused);
    const retryAfter = retryAfterOf(refused);
    assert.ok(retryAfter > 60 && retryAfter <= 15 * 60, `the window is 15 minutes, Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    assert.equal((await login(email('ip-other'), wrongPassword)).status, 401, 'another address is still let through');
  });

  test('sign-in: an account accepts 5 attempts per 15 minutes whatever the addresses, known or not', async () => {
    const account = await verifiedAccount('per-account');
    // Successful sign-ins clear the failure count, so only the per-account window is at work.
    for (let i = 0; i < rateLimitRules.login.account.limit; i++) assert.equal((await login(account.email, password)).status, 200);
    const known = await login(account.email, password);
    const knownProblem = await assertTooMany(known);
    assert.ok(retryAfterOf(known) > 60, 'the per-account window, not a short lock');

    const ghost = email('per-account-ghost');
    for (let i = 0; i < rateLimitRules.login.account.limit; i++) assert.equal((await login(ghost, wrongPassword)).status, 401);
    const unknownProblem = await assertTooMany(await login(ghost, wrongPassword));
    assert.equal(unknownProblem.status, knownProblem.status);
    assert.equal(unknownProblem.title, knownProblem.title);
  });

  test('lock-out: repeated failures lock the email out, even with the right password; answered alike for unknown emails', async () => {
    const account = await verifiedAccount('lockout');
    const hash = emailLookupHash(config, account.email);
    for (let i = 0; i < 5; i++) assert.equal((await login(account.email, wrongPassword)).status, 401);
    // Five consecutive failures reached the threshold: counted in Redis under the email's keyed hash.
    const state = await raw.hgetall(`${prefix}${lockoutKey('login', hash)}`);
    assert.equal(state.failures, '5');
    assert.ok(Number(state.lockedUntil) > 0, 'the fifth failure locks');
    await assertTooMany(await login(account.email, password));
    const audit = await api.deps.sql<{ details: { failures: number; lockedForMs?: number } }[]>`
      SELECT details FROM identity.audit_log WHERE action = 'identity.login_failed' AND target_id = ${account.id} ORDER BY id`;
    assert.deepEqual(audit.map((a) => a.details.failures), [1, 2, 3, 4, 5]);
    assert.ok(audit[4]!.details.lockedForMs! > 0, 'the failure that locks says so in the audit log');

    // The lock grows with each further failure (here recorded directly, as attempts spread over hours
    // would): at 15 failures it is long, and the right password does not get through.
    const locked = await verifiedAccount('locked-long');
    const ghost = email('locked-ghost');
    for (let i = 0; i < 15; i++) {
      await limiter().recordFailure('login', emailLookupHash(config, locked.email));
      await limiter().recordFailure('login', emailLookupHash(config, ghost));
    }
    const knownResponse = await login(locked.email, password);
    const knownProblem = await assertTooMany(knownResponse);
    const ghostResponse = await login(ghost, password);
    const ghostProblem = await assertTooMany(ghostResponse);
    assert.ok(retryAfterOf(knownResponse) > 60 && retryAfterOf(ghostResponse) > 60);
    assert.deepEqual({ ...ghostProblem, requestId: undefined }, { ...knownProblem, requestId: undefined }, 'no enumeration through the lock-out');
    const sessions = await api.deps.sql`SELECT 1 FROM identity.sessions WHERE account_id = ${locked.id}`;
    assert.equal(sessions.length, 0);
  });

  test('a successful sign-in clears the failure count; a password reset lifts a lock-out', async () => {
    const account = await verifiedAccount('clears');
    const key = `${prefix}${lockoutKey('login', emailLookupHash(config, account.email))}`;
    for (let i = 0; i < 2; i++) assert.equal((await login(account.email, wrongPassword)).status, 401);
    assert.equal(await raw.hget(key, 'failures'), '2');
    assert.equal((await login(account.email, password)).status, 200);
    assert.equal(await raw.exists(key), 0);

    const locked = await verifiedAccount('reset-lifts');
    for (let i = 0; i < 15; i++) await limiter().recordFailure('login', emailLookupHash(config, locked.email));
    await assertTooMany(await login(locked.email, password));
    const { token } = await issueOneTimeToken(api.deps.db, locked.id, 'reset_password');
    const newPassword = 'Un nouveau mot de passe bien long';
    assert.equal((await post('/v1/auth/password-reset/confirm', { token, password: newPassword })).status, 204);
    assert.equal((await login(locked.email, newPassword)).status, 200);
  });

  test('registration: 5 per address per hour', async () => {
    const ip = freshIp();
    for (let i = 0; i < rateLimitRules.register.ip.limit; i++) assert.equal((await post('/v1/auth/register', { email: email(`register-${i}`), password }, ip)).status, 202);
    const refused = await post('/v1/auth/register', { email: email('register-last'), password }, ip);
    await assertTooMany(refused);
    assert.ok(retryAfterOf(refused) > 15 * 60, 'the window is an hour');
    // Counted before the body is read: even invalid requests are refused once the window is full.
    await assertTooMany(await post('/v1/auth/register', { email: 'not-an-email', password }, ip));
  });

  test('password reset: 5 per address and 3 per account per hour, known account or not', async () => {
    const ip = freshIp();
    for (let i = 0; i < rateLimitRules.passwordReset.ip.limit; i++) assert.equal((await post('/v1/auth/password-reset', { email: email(`reset-ip-${i}`) }, ip)).status, 202);
    await assertTooMany(await post('/v1/auth/password-reset', { email: email('reset-ip-last') }, ip));

    const account = await verifiedAccount('reset-account');
    const ghost = email('reset-ghost');
    for (const address of [account.email, ghost]) {
      for (let i = 0; i < rateLimitRules.passwordReset.account.limit; i++) assert.equal((await post('/v1/auth/password-reset', { email: address })).status, 202);
      await assertTooMany(await post('/v1/auth/password-reset', { email: address }));
    }
  });

  test('every /v1 route: RATE_LIMIT_API_PER_MINUTE requests per address per minute', async () => {
    const ip = freshIp();
    const get = () => fetch(`${api.baseUrl}/v1/no-such-route-${run}`, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < config.RATE_LIMIT_API_PER_MINUTE; i++) assert.equal((await get()).status, 404);
    const refused = await get();
    await assertTooMany(refused);
    assert.ok(retryAfterOf(refused) <= 60);
    assert.equal((await fetch(`${api.baseUrl}/v1/no-such-route-${run}`, { headers: { 'x-forwarded-for': freshIp() } })).status, 404);
  });

  test('no email reaches Redis: per-account keys use the keyed hash', async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    assert.ok(keys.length > 20, `the tests above left keys (${keys.length})`);
    for (const key of keys) {
      assert.ok(!key.includes('@'), `an address in a key: ${key}`);
      for (const address of emailsUsed) assert.ok(!key.toLowerCase().includes(address.split('@')[0]!.toLowerCase()), `${key} holds part of ${address}`);
    }
    const someAccount = emailsUsed.find((address) => address.includes('per-account-ghost'))!;
    assert.ok(keys.includes(`${prefix}${rateLimitKey(rateLimitRules.login.account, emailLookupHash(config, someAccount))}`), 'the per-account window is keyed by the hash');
  });
});

describe('when Redis cannot be reached', () => {
  test('the limits still hold, counted in this process, and the outage is logged once', async () => {
    const closedPort = await freePort();
    const config = testConfig('rate-limits-down', { TRUST_PROXY: 'true', REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    const lines: { level: string; msg: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: string; msg: string });
        done();
      },
    });
    const deps = connectApiDeps(config);
    const app = createApp({ ...deps, logger: createLogger({ level: 'warn', name: 'rate-limits-down', destination: sink }) });
    try {
      const ip = freshIp();
      const attempt = (address: string) =>
        app.request('http://local/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ email: address, password: wrongPassword }),
        });
      for (let i = 0; i < rateLimitRules.login.ip.limit; i++) assert.equal((await attempt(newEmail(`down-${i}`))).status, 401);
      await assertTooMany(await attempt(newEmail('down-last')));
      const outage = lines.filter((line) => line.msg.startsWith('rate limiter cannot reach Redis'));
      assert.equal(outage.length, 1, JSON.stringify(lines));
      assert.equal(outage[0]!.level, 'warn');
    } finally {
      await deps.close();
    }
  });
});

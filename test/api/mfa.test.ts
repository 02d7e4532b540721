import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import type { Role } from '../../db/schema/identity';
import { insertAccount } from '../../identity/accounts';
import { hashPassword } from '../../platform/passwords';
import { connectPostgres } from '../../platform/postgres';
import { startApi, testConfig } from '../support/stack';

// Behind a "proxy": each sign-in comes from its own address, so the per-address login limit (10 per
// 15 min) does not decide these tests; the per-account limits and lock-outs still apply.
const config = testConfig('mfa', { TRUST_PROXY: 'true' });
const postgres = connectPostgres(config.DATABASE_URL, { max: 2, applicationName: 'comptoir-test' });
let api: Awaited<ReturnType<typeof startApi>>;
before(async () => {
  api = await startApi(config);
});
after(async () => {
  await api?.stop();
  await postgres.close();
});

type Json = Record<string, unknown>;
type Problem = { type: string; status: number; detail?: string; errors?: { in: string; field: string; message: string }[] };
type Tokens = { access_token: string; refresh_token: string; token_type: string };
type Challenge = { mfaRequired: true; mfaToken: string };

let address = 0;
const nextAddress = () => `203.0.113.${(address++ % 250) + 1}`;

async function call(method: string, path: string, options: { body?: unknown; token?: string; raw?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': nextAddress() };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return fetch(`${api.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function expectJson<T = Json>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text ? JSON.parse(text) : {}) as T;
}

async function expectProblem(response: Response, status: number, slug?: string): Promise<Problem> {
  const body = await expectJson<Problem>(response, status);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  if (slug) assert.equal(body.type, `https://comptoir.dev/problems/${slug}`);
  return body;
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { amr: string[]; sid: string };

interface Person {
  accountId: string;
  email: string;
  password: string;
  /** The last TOTP step this test spent for the account: the server refuses it and every earlier one. */
  lastStep: number;
  secret?: string;
  recoveryCodes?: string[];
}

async function newPerson(role: Role = 'customer'): Promise<Person> {
  const email = `mfa-${role}-${randomUUID()}@test.comptoir.dev`;
  const password = `pass-${randomUUID()}`;
  const accountId = await insertAccount(postgres.db, config, { email, role, passwordHash: await hashPassword(password), emailVerified: true });
  return { accountId, email, password, lastStep: -1 };
}

const login = (person: Person) => call('POST', '/v1/auth/login', { body: { email: person.email, password: person.password } });

async function loginForTokens(person: Person): Promise<Tokens> {
  const body = await expectJson<Tokens & Partial<Challenge>>(await login(person), 200);
  assert.equal(body.mfaRequired, undefined, 'no second factor expected');
  return body;
}

async function loginForChallenge(person: Person): Promise<string> {
  const body = await expectJson<Partial<Tokens> & Challenge>(await login(person), 200);
  assert.equal(body.mfaRequired, true);
  assert.equal(body.access_token, undefined, 'the password alone must not yield tokens');
  return body.mfaToken;
}

const currentStep = () => Math.floor(Date.now() / 30_000);

/**
 * A valid code the server has not seen yet: the current step, or the next one (±1 step of drift is
 * accepted). Each account can spend two codes at once; only a third within the same 30 s has to wait
 * for the clock.
 */
async function freshCode(person: Person): Promise<string> {
  let step = Math.max(currentStep(), person.lastStep + 1);
  while (step > currentStep() + 1) {
    await new Promise((resolve) => setTimeout(resolve, (currentStep() + 1) * 30_000 - Date.now() + 50));
    step = Math.max(currentStep(), person.lastStep + 1);
  }
  person.lastStep = step;
  return generate({ secret: person.secret!, epoch: step * 30 });
}

/** A code of a step far outside the accepted window: well formed, and wrong. */
const wrongCode = (person: Person) => generate({ secret: person.secret!, epoch: (currentStep() - 20) * 30 });

async function enrol(person: Person, token: string): Promise<void> {
  const enrolment = await expectJson<{ secret: string; otpauthUri: string }>(await call('POST', '/v1/me/mfa/totp', { token }), 200);
  person.secret = enrolment.secret;
  const confirmed = await expectJson<{ recoveryCodes: string[] }>(await call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: await freshCode(person) } }), 200);
  person.recoveryCodes = confirmed.recoveryCodes;
}

async function auditActions(accountId: string): Promise<{ action: string; details: Json }[]> {
  return postgres.sql<{ action: string; details: Json }[]>`
    SELECT action, details FROM identity.audit_log WHERE target_id = ${accountId} ORDER BY id`;
}

describe('TOTP enrolment and sign-in', () => {
  test('enrol → confirm → sign-in needs the second factor; wrong and replayed codes are refused', async () => {
    const person = await newPerson();
    const first = await loginForTokens(person);

    const enrolment = await expectJson<{ secret: string; otpauthUri: string }>(await call('POST', '/v1/me/mfa/totp', { token: first.access_token }), 200);
    person.secret = enrolment.secret;
    assert.match(enrolment.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), enrolment.secret);
    assert.equal(uri.searchParams.get('issuer'), 'Comptoir');
    assert.ok(decodeURIComponent(enrolment.otpauthUri).includes(person.email));
    // At rest, the secret is encrypted under the current PII key, bound to the account.
    const [stored] = await postgres.sql<{ secret_enc: string; confirmed_at: Date | null }[]>`
      SELECT secret_enc, confirmed_at FROM identity.totp_factors WHERE account_id = ${person.accountId}`;
    assert.ok(stored!.secret_enc.startsWith(`${config.pii.keyring.current}.`));
    assert.ok(!stored!.secret_enc.includes(enrolment.secret));
    assert.equal(stored!.confirmed_at, null);

    // Not active until confirmed: the password alone still signs in.
    const second = await loginForTokens(person);

    await expectProblem(await call('POST', '/v1/me/mfa/totp/confirm', { token: first.access_token, body: { code: await wrongCode(person) } }), 403, 'invalid-mfa-code');
    const confirmed = await expectJson<{ recoveryCodes: string[] }>(
      await call('POST', '/v1/me/mfa/totp/confirm', { token: first.access_token, body: { code: await freshCode(person) } }),
      200,
    );
    assert.equal(confirmed.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.recoveryCodes).size, 10);
    for (const code of confirmed.recoveryCodes) assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const hashes = await postgres.sql<{ code_hash: string }[]>`SELECT code_hash FROM identity.recovery_codes WHERE account_id = ${person.accountId}`;
    assert.equal(hashes.length, 10);
    assert.ok(hashes.every(({ code_hash }) => !confirmed.recoveryCodes.some((code) => code_hash.includes(code.replaceAll('-', '')))));

    // The session opened with the password alone ends; the one that enrolled goes on.
    await expectProblem(await call('POST', '/v1/me/mfa/totp', { token: second.access_token }), 401);
    await expectProblem(await call('POST', '/v1/me/mfa/totp', { token: first.access_token }), 409, 'mfa-already-enabled');

    const mfaToken = await loginForChallenge(person);
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code: await wrongCode(person) } }), 401, 'invalid-mfa-code');
    // ±1 step of drift is accepted (freshCode may use the next step); three steps ahead is outside, even if the clock ticks meanwhile.
    const farAhead = await generate({ secret: person.secret!, epoch: (currentStep() + 3) * 30 });
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code: farAhead } }), 401, 'invalid-mfa-code');
    const code = await freshCode(person);
    const tokens = await expectJson<Tokens>(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code } }), 200);
    assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'otp']);
    // The challenge closed with the sign-in.
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code } }), 401, 'invalid-mfa-code');

    // The same code on a new challenge is a replay, refused however valid it still looks.
    const replayChallenge = await loginForChallenge(person);
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: replayChallenge, code } }), 401, 'invalid-mfa-code');

    const actions = (await auditActions(person.accountId)).map((row) => row.action);
    assert.ok(actions.includes('identity.mfa_enrolled'));
    assert.equal(actions.filter((action) => action === 'identity.mfa_failed').length, 4);
    const enrolled = (await auditActions(person.accountId)).find((row) => row.action === 'identity.mfa_enrolled')!;
    assert.equal(enrolled.details.sessionsRevoked, 1);
    // Codes and secrets never reach the audit log.
    const audit = JSON.stringify(await auditActions(person.accountId));
    assert.ok(!audit.includes(code) && !audit.includes(person.secret!) && !confirmed.recoveryCodes.some((each) => audit.includes(each)));
  });

  test('one code presented on two challenges at once signs in exactly once', async () => {
    const person = await newPerson();
    await enrol(person, (await loginForTokens(person)).access_token);
    const [a, b] = [await loginForChallenge(person), await loginForChallenge(person)];
    const code = await freshCode(person);
    const answers = await Promise.all([a, b].map((mfaToken) => call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code } })));
    assert.deepEqual(answers.map((response) => response.status).sort(), [200, 401]);
  });

  test('a challenge allows five attempts, then it is gone even for the right code', async () => {
    const person = await newPerson();
    await enrol(person, (await loginForTokens(person)).access_token);
    const mfaToken = await loginForChallenge(person);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const problem = await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code: await wrongCode(person) } }), 401, 'invalid-mfa-code');
      if (attempt === 5) assert.match(problem.detail!, /no attempts left/);
    }
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken, code: await freshCode(person) } }), 401, 'invalid-mfa-code');
    const failures = (await auditActions(person.accountId)).filter((row) => row.action === 'identity.mfa_failed');
    assert.equal(failures.length, 5);
    assert.equal(failures.at(-1)!.details.locked, true, 'the fifth wrong code locks the account out of further codes for a while');
  });

  test('recovery codes sign in once each; regenerating replaces them all', async () => {
    const person = await newPerson();
    await enrol(person, (await loginForTokens(person)).access_token);
    const [first, second, third] = person.recoveryCodes!;

    // Typed the way people copy them: upper case, spaces for hyphens.
    const typed = first!.toUpperCase().replaceAll('-', ' ');
    const tokens = await expectJson<Tokens>(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: await loginForChallenge(person), code: typed } }), 200);
    assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'mfa']);
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: await loginForChallenge(person), code: first } }), 401, 'invalid-mfa-code');
    const used = (await auditActions(person.accountId)).find((row) => row.action === 'identity.recovery_code_used')!;
    assert.equal(used.details.remaining, 9);

    const regenerated = await expectJson<{ recoveryCodes: string[] }>(
      await call('POST', '/v1/me/mfa/recovery-codes', { token: tokens.access_token, body: { code: second } }),
      200,
    );
    assert.equal(regenerated.recoveryCodes.length, 10);
    assert.ok(!regenerated.recoveryCodes.includes(third!));
    const [unused] = await postgres.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM identity.recovery_codes WHERE account_id = ${person.accountId} AND used_at IS NULL`;
    assert.equal(unused!.count, 10);
    // An old code stopped working; a new one works.
    await expectProblem(await call('POST', '/v1/me/mfa/recovery-codes', { token: tokens.access_token, body: { code: third } }), 403, 'invalid-mfa-code');
    await expectJson(await call('POST', '/v1/me/mfa/recovery-codes', { token: tokens.access_token, body: { code: regenerated.recoveryCodes[0] } }), 200);
    const actions = (await auditActions(person.accountId)).map((row) => row.action);
    assert.equal(actions.filter((action) => action === 'identity.recovery_codes_regenerated').length, 2);
  });

  test('disabling needs a valid code, ends other sessions, and sign-in needs only the password again', async () => {
    const person = await newPerson();
    const token = (await loginForTokens(person)).access_token;
    await enrol(person, token);
    const other = await expectJson<Tokens>(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: await loginForChallenge(person), code: person.recoveryCodes![0] } }), 200);

    await expectProblem(await call('DELETE', '/v1/me/mfa/totp', { token, body: { code: await wrongCode(person) } }), 403, 'invalid-mfa-code');
    assert.equal((await call('DELETE', '/v1/me/mfa/totp', { token, body: { code: await freshCode(person) } })).status, 204);
    await expectProblem(await call('POST', '/v1/me/mfa/totp', { token: other.access_token }), 401);
    const [factors] = await postgres.sql<{ factors: number; codes: number }[]>`
      SELECT (SELECT count(*)::int FROM identity.totp_factors WHERE account_id = ${person.accountId}) AS factors,
             (SELECT count(*)::int FROM identity.recovery_codes WHERE account_id = ${person.accountId}) AS codes`;
    assert.deepEqual({ ...factors }, { factors: 0, codes: 0 });
    await expectProblem(await call('DELETE', '/v1/me/mfa/totp', { token, body: { code: '123456' } }), 409, 'mfa-not-enabled');
    await loginForTokens(person);
    assert.ok((await auditActions(person.accountId)).some((row) => row.action === 'identity.mfa_disabled'));
  });
});

describe('staff must have MFA', () => {
  test('an admin signed in with the password alone gets 403 on admin routes; with TOTP (or a recovery code) it gets through', async () => {
    const admin = await newPerson('admin');
    const passwordOnly = await loginForTokens(admin);
    assert.deepEqual(claimsOf(passwordOnly.access_token).amr, ['pwd']);
    const refused = await expectProblem(await call('GET', '/v1/admin/search/synonyms', { token: passwordOnly.access_token }), 403, 'forbidden');
    assert.match(refused.detail!, /second factor/);

    // Enrolment is open to a staff session without a second factor: that is how they get one.
    await enrol(admin, passwordOnly.access_token);
    const withOtp = await expectJson<Tokens>(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: await loginForChallenge(admin), code: await freshCode(admin) } }), 200);
    await expectJson(await call('GET', '/v1/admin/search/synonyms', { token: withOtp.access_token }), 200);
    const withRecovery = await expectJson<Tokens>(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: await loginForChallenge(admin), code: admin.recoveryCodes![0] } }), 200);
    await expectJson(await call('GET', '/v1/admin/search/synonyms', { token: withRecovery.access_token }), 200);

    // And they may not turn it off.
    await expectProblem(await call('DELETE', '/v1/me/mfa/totp', { token: withOtp.access_token, body: { code: admin.recoveryCodes![1] } }), 403, 'mfa-required');
    const [factor] = await postgres.sql`SELECT 1 FROM identity.totp_factors WHERE account_id = ${admin.accountId} AND confirmed_at IS NOT NULL`;
    assert.ok(factor, 'the factor is still there');
  });
});

describe('bad input', () => {
  test('invalid bodies → 422 naming the field; no token → 401; unknown challenge → 401', async () => {
    const person = await newPerson();
    const token = (await loginForTokens(person)).access_token;
    const fields = (problem: Problem) => problem.errors?.map((error) => error.field);

    assert.deepEqual(fields(await expectProblem(await call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: '12ab56' } }), 422, 'validation')), ['code']);
    assert.deepEqual(fields(await expectProblem(await call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: '123456', remember: true } }), 422)), ['remember']);
    assert.deepEqual(fields(await expectProblem(await call('DELETE', '/v1/me/mfa/totp', { token, body: {} }), 422)), ['code']);
    assert.deepEqual(fields(await expectProblem(await call('POST', '/v1/me/mfa/recovery-codes', { token, body: { code: 'x'.repeat(33) } }), 422)), ['code']);
    assert.deepEqual(fields(await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: 42, code: '123456' } }), 422)), ['mfaToken']);
    assert.deepEqual(fields(await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { code: '123456' } }), 422)), ['mfaToken']);
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { raw: '{"mfaToken":' }), 400, 'malformed-json');

    await expectProblem(await call('POST', '/v1/me/mfa/totp'), 401);
    await expectProblem(await call('POST', '/v1/auth/login/mfa', { body: { mfaToken: `mfa_${randomUUID()}`, code: '123456' } }), 401, 'invalid-mfa-code');
    // Confirming with nothing to confirm, and regenerating without MFA, are conflicts, not failures.
    await expectProblem(await call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: '123456' } }), 409, 'mfa-not-started');
    await expectProblem(await call('POST', '/v1/me/mfa/recovery-codes', { token, body: { code: '123456' } }), 409, 'mfa-not-enabled');
  });
});

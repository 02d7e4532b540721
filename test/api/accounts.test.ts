import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { piiFields } from '../../identity/pii-fields';
import { emailLookupHash, insertAccount } from '../../identity/accounts';
import { needsRehash } from '../../platform/passwords';
import { encryptPii } from '../../platform/pii';
import { notificationDeliveryProgressQuery, notificationDeliveryWorkflowId } from '../../workflows/identity/notificationDelivery';
import { ensureNotificationDelivery } from '../../workers/notification-delivery';
import { messageFileName, type OutgoingMessage } from '../../notifications/sinks';
import { recordHistory } from '../support/histories';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { json, problem, fields, type Problem } from '../support/http';

type Tokens = { access_token: string; token_type: string; expires_in: number; refresh_token: string };

const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const outgoing = join(process.env.COMPTOIR_TEST_RUN_DIR ?? tmpdir(), `outgoing-accounts-${run}`);
const password = 'Une théière en fonte de 1908';

describe('accounts over HTTP: register, verify, sign in, reset, with mail through the outbox', () => {
  let config: ReturnType<typeof testConfig>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  before(async () => {
    config = testConfig('accounts', {
      NOTIFICATION_SINK: 'file',
      NOTIFICATION_DIR: outgoing,
      // Each request below names its own client address, so per-address limits do not pile up across tests.
      TRUST_PROXY: 'true',
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'comptoir-test:'}accounts-${run}:`,
      WORKER_METRICS_PORT: String(await freePort()),
    });
    api = await startApi(config);
    worker = await startWorker(config);
    await ensureNotificationDelivery(worker.context, { batchSize: 20, idleWaitMs: 1_000 });
  });

  after(async () => {
    await worker?.stop();
    // The workflow outlives its worker otherwise; ended after the worker so no activity completes into a closed run.
    await api?.deps.temporal.client.workflow.getHandle(notificationDeliveryWorkflowId(config.TASK_QUEUE_PREFIX)).terminate('test over').catch(() => {});
    await api?.stop();
  });

  let addressCount = 0;
  /** A client address of its own (TEST-NET-2), reported through the trusted proxy header. */
  const freshIp = () => {
    addressCount++;
    return `198.51.${Math.floor(addressCount / 250)}.${(addressCount % 250) + 1}`;
  };
  const newEmail = (name: string) => `${name}-${run}-${randomBytes(3).toString('hex')}@example.com`;

  function post(path: string, body: unknown, options: { ip?: string; headers?: Record<string, string> } = {}) {
    return fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': options.ip ?? freshIp(), ...options.headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }




  /** Every message the file sink wrote so far. */
  function sentMessages(): OutgoingMessage[] {
    let files: string[];
    try {
      files = readdirSync(outgoing);
    } catch {
      return [];
    }
    return files.filter((file) => file.endsWith('.json')).map((file) => JSON.parse(readFileSync(join(outgoing, file), 'utf8')) as OutgoingMessage);
  }

  function mailsTo(email: string, template: OutgoingMessage['template']): OutgoingMessage[] {
    return sentMessages().filter((m) => m.to === email && m.template === template);
  }

  /** Waits until `count` messages of `template` reached the address; returns the newest. */
  async function mailTo(email: string, template: OutgoingMessage['template'], count = 1): Promise<OutgoingMessage> {
    const mails = await waitFor(async () => {
      const found = mailsTo(email, template);
      return found.length >= count ? found : undefined;
    }, { what: `${template} mail #${count}`, timeoutMs: 30_000 });
    return mails.sort((a, b) => a.id - b.id).at(-1)!;
  }

  const tokenIn = (message: OutgoingMessage) => {
    const match = /#token=([A-Za-z0-9_-]+)/.exec(message.text);
    assert.ok(match, `no token link in: ${message.text}`);
    return match[1]!;
  };

  async function auditRows(targetId: string) {
    return api.deps.sql<{ action: string; actor_type: string; actor_id: string | null; ip: string | null; request_id: string | null; details: Record<string, unknown> }[]>`
      SELECT action, actor_type, actor_id, ip, request_id, details FROM identity.audit_log WHERE target_id = ${targetId} ORDER BY id`;
  }

  /** Registers over HTTP and follows the verification link; returns the account id. */
  async function verifiedAccount(email: string, language?: string): Promise<string> {
    await json(await post('/v1/auth/register', { email, password, ...(language ? { language } : {}) }), 202);
    const mail = await mailTo(email, 'verify_email');
    const response = await post('/v1/auth/verify-email', { token: tokenIn(mail) });
    assert.equal(response.status, 204, await response.text());
    return accountOf(email);
  }

  async function accountOf(email: string): Promise<string> {
    const [row] = await api.deps.sql<{ id: string }[]>`SELECT id FROM identity.accounts WHERE email_hash = ${emailLookupHash(config, email)}`;
    assert.ok(row, 'no account for this email');
    return row.id;
  }

  const login = (email: string, pass: string, ip?: string) => post('/v1/auth/login', { email, password: pass }, ip ? { ip } : {});

  test('register → the verification mail reaches the file sink → verify → sign in → refresh', async () => {
    const email = newEmail('camille');
    const ip = freshIp();
    const accepted = await json<{ message: string }>(await post('/v1/auth/register', { email, password, language: 'fr-FR' }, { ip }), 202);
    assert.equal(typeof accepted.message, 'string');
    const accountId = await accountOf(email);

    // Not verified yet: the right password is refused with a reason the owner can act on.
    const early = await problem(await login(email, password), 403);
    assert.equal(early.type, 'https://comptoir.dev/problems/email-not-verified');

    const mail = await mailTo(email, 'verify_email');
    assert.equal(mail.channel, 'email');
    assert.equal(mail.subject, 'Confirmez votre adresse email', 'the language given at registration picks the message language');
    assert.match(mail.text, /\/account\/verify-email#token=cve_/);
    assert.ok(readdirSync(outgoing).includes(messageFileName(mail.id)), 'the file is named by outbox id');

    // Delivered: the outbox row keeps no address and no link.
    const [row] = await api.deps.sql<{ delivered_at: Date | null; recipient_enc: string | null; payload_enc: string | null; account_id: string }[]>`
      SELECT delivered_at, recipient_enc, payload_enc, account_id FROM notifications.outbox WHERE id = ${mail.id}`;
    assert.ok(row?.delivered_at);
    assert.equal(row.recipient_enc, null);
    assert.equal(row.payload_enc, null);
    assert.equal(row.account_id, accountId);

    // The token is stored hashed only.
    const token = tokenIn(mail);
    const stored = await api.deps.sql<{ token_hash: string; purpose: string }[]>`SELECT token_hash, purpose FROM identity.one_time_tokens WHERE account_id = ${accountId}`;
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.purpose, 'verify_email');
    assert.notEqual(stored[0]!.token_hash, token);
    assert.ok(!stored[0]!.token_hash.includes(token.slice(4)));

    assert.equal((await post('/v1/auth/verify-email', { token })).status, 204);
    const reused = await problem(await post('/v1/auth/verify-email', { token }), 400);
    assert.equal(reused.type, 'https://comptoir.dev/problems/invalid-token');
    assert.deepEqual(fields(reused), ['token']);
    const [account] = await api.deps.sql<{ email_verified_at: Date | null; email_enc: string; language: string }[]>`
      SELECT email_verified_at, email_enc, language FROM identity.accounts WHERE id = ${accountId}`;
    assert.ok(account?.email_verified_at);
    assert.equal(account.language, 'fr-FR');
    assert.ok(!account.email_enc.includes(email.split('@')[0]!), 'the email is stored encrypted');

    const response = await login(email, password, ip);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const tokens = await json<Tokens>(response, 200);
    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.access_token.split('.').length === 3);
    const refreshed = await json<Tokens>(await post('/v1/auth/refresh', { refresh_token: tokens.refresh_token }), 200);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

    const audit = await auditRows(accountId);
    assert.deepEqual(
      audit.map((a) => a.action),
      ['identity.account_registered', 'identity.login_failed', 'identity.email_verified', 'identity.login'],
    );
    assert.equal(audit[0]!.ip, ip, 'the client address comes from the trusted proxy header');
    assert.ok(audit.every((a) => a.request_id), 'every row names its request');
    assert.deepEqual(audit[1]!.details, { reason: 'email_not_verified' });
    assert.equal(audit[3]!.actor_id, accountId);
    assert.deepEqual(audit[3]!.details, { methods: ['pwd'] });
    const leaks = await api.deps.sql`
      SELECT id FROM identity.audit_log WHERE concat_ws(' ', actor_id, target_id, details::text) ILIKE ${'%' + email.split('@')[0]! + '%'}`;
    assert.equal(leaks.length, 0, 'the audit log never holds the email');
  });

  test('a verification link expires after 24 hours', async () => {
    const email = newEmail('expired-verify');
    await json(await post('/v1/auth/register', { email, password }), 202);
    const token = tokenIn(await mailTo(email, 'verify_email'));
    const accountId = await accountOf(email);
    const [lifetime] = await api.deps.sql<{ hours: number }[]>`
      SELECT round(extract(epoch FROM expires_at - created_at) / 3600)::int AS hours FROM identity.one_time_tokens WHERE account_id = ${accountId}`;
    assert.equal(lifetime?.hours, 24);
    await api.deps.sql`UPDATE identity.one_time_tokens SET expires_at = now() - interval '1 second' WHERE account_id = ${accountId}`;
    const expired = await problem(await post('/v1/auth/verify-email', { token }), 400);
    assert.deepEqual(fields(expired), ['token']);
    assert.equal((await problem(await login(email, password), 403)).type, 'https://comptoir.dev/problems/email-not-verified');
  });

  test('password reset end to end: weak password refused, old sessions revoked, link single-use, address verified', async () => {
    const email = newEmail('reset');
    const accountId = await verifiedAccount(email);
    const before = await json<Tokens>(await login(email, password), 200);
    const otherDevice = await json<Tokens>(await login(email, password), 200);

    // Two requests: only the newest link works.
    await json(await post('/v1/auth/password-reset', { email }), 202);
    const first = tokenIn(await mailTo(email, 'reset_password', 1));
    await json(await post('/v1/auth/password-reset', { email }), 202);
    const second = await mailTo(email, 'reset_password', 2);
    const token = tokenIn(second);
    assert.notEqual(token, first);
    assert.match(second.text, /\/account\/reset-password#token=cpr_/);
    assert.equal(second.subject, 'Reset your password');

    const newPassword = 'Un nouveau mot de passe bien long';
    assert.deepEqual(fields(await problem(await post('/v1/auth/password-reset/confirm', { token: first, password: newPassword }), 400)), ['token']);

    const weak = await problem(await post('/v1/auth/password-reset/confirm', { token, password: 'short' }), 422);
    assert.deepEqual(fields(weak), ['password']);
    assert.match(weak.errors![0]!.message, /at least 12/);
    const containsEmail = await problem(await post('/v1/auth/password-reset/confirm', { token, password: `${email.split('@')[0]}-2024!` }), 422);
    assert.ok(containsEmail.errors!.some((e) => e.field === 'password' && /email/.test(e.message)));

    // The weak attempts did not spend the link.
    assert.equal((await post('/v1/auth/password-reset/confirm', { token, password: newPassword })).status, 204);
    const reused = await problem(await post('/v1/auth/password-reset/confirm', { token, password: `${newPassword} 2` }), 400);
    assert.equal(reused.type, 'https://comptoir.dev/problems/invalid-token');

    // Every session of the account ended: refresh tokens at once, access tokens at their next request.
    for (const tokens of [before, otherDevice]) {
      assert.equal((await problem(await post('/v1/auth/refresh', { refresh_token: tokens.refresh_token }), 401)).type, 'https://comptoir.dev/problems/invalid-grant');
      const logout = await fetch(`${api.baseUrl}/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'x-forwarded-for': freshIp() } });
      assert.equal(logout.status, 401);
    }
    const sessions = await api.deps.sql<{ revoked_reason: string | null }[]>`SELECT revoked_reason FROM identity.sessions WHERE account_id = ${accountId}`;
    assert.deepEqual(sessions.map((s) => s.revoked_reason), ['password_reset', 'password_reset']);

    assert.equal((await problem(await login(email, password), 401)).type, 'https://comptoir.dev/problems/invalid-credentials');
    await json<Tokens>(await login(email, newPassword), 200);

    const audit = await auditRows(accountId);
    const reset = audit.find((a) => a.action === 'identity.password_reset');
    assert.ok(reset);
    assert.deepEqual(reset.details, { sessionsRevoked: 2 });
    assert.equal(audit.filter((a) => a.action === 'identity.password_reset_requested').length, 2);
  });

  test('a reset link expires after an hour', async () => {
    const email = newEmail('expired-reset');
    const accountId = await verifiedAccount(email);
    await json(await post('/v1/auth/password-reset', { email }), 202);
    const token = tokenIn(await mailTo(email, 'reset_password'));
    const [lifetime] = await api.deps.sql<{ minutes: number }[]>`
      SELECT round(extract(epoch FROM expires_at - created_at) / 60)::int AS minutes FROM identity.one_time_tokens WHERE account_id = ${accountId} AND purpose = 'reset_password'`;
    assert.equal(lifetime?.minutes, 60);
    await api.deps.sql`UPDATE identity.one_time_tokens SET expires_at = now() - interval '1 second' WHERE account_id = ${accountId} AND purpose = 'reset_password'`;
    assert.deepEqual(fields(await problem(await post('/v1/auth/password-reset/confirm', { token, password: 'Un nouveau mot de passe bien long' }), 400)), ['token']);
    await json<Tokens>(await login(email, password), 200);
  });

  test('a password reset verifies an address not verified yet', async () => {
    const email = newEmail('reset-unverified');
    await json(await post('/v1/auth/register', { email, password }), 202);
    const accountId = await accountOf(email);
    await json(await post('/v1/auth/password-reset', { email }), 202);
    const token = tokenIn(await mailTo(email, 'reset_password'));
    assert.equal((await post('/v1/auth/password-reset/confirm', { token, password: 'Un nouveau mot de passe bien long' })).status, 204);
    const [account] = await api.deps.sql<{ email_verified_at: Date | null }[]>`SELECT email_verified_at FROM identity.accounts WHERE id = ${accountId}`;
    assert.ok(account?.email_verified_at, 'the reset link was mailed to the address: it counts as verified');
    await json<Tokens>(await login(email, 'Un nouveau mot de passe bien long'), 200);
  });

  test('no enumeration: register, sign-in and reset answer alike for known and unknown emails', async () => {
    const known = newEmail('known');
    const knownId = await verifiedAccount(known);
    const unknown = newEmail('nobody');
    // Emails queued directly (not the messages an order event left by another test file expands into meanwhile).
    const outboxRows = async () => Number((await api.deps.sql<{ n: string }[]>`SELECT count(*) AS n FROM notifications.outbox WHERE channel = 'email' AND parent_id IS NULL`)[0]!.n);
    const shape = (p: Problem) => ({ type: p.type, title: p.title, status: p.status, detail: p.detail, instance: p.instance, errors: p.errors });

    // Register: same answer; the owner of the known address is told instead, and nothing changes on the account.
    const rowsBefore = await outboxRows();
    const newOne = await post('/v1/auth/register', { email: unknown, password });
    const existing = await post('/v1/auth/register', { email: known.toUpperCase(), password: 'Un autre mot de passe très long' });
    assert.equal(newOne.status, existing.status);
    assert.deepEqual(await json(existing, 202), await json(newOne, 202));
    assert.equal(await outboxRows(), rowsBefore + 2, 'one verification link, one notice');
    const notice = await mailTo(known, 'account_exists');
    assert.equal(notice.subject, 'You already have a Comptoir account');
    assert.match(notice.text, /\/account\/forgot-password/);
    assert.doesNotMatch(notice.text, /#token=/, 'the notice carries no working link');
    // A second try within the hour: same answer, no second notice.
    await json(await post('/v1/auth/register', { email: known, password }), 202);
    assert.equal(await outboxRows(), rowsBefore + 2);
    await json<Tokens>(await login(known, password), 200);
    assert.ok((await auditRows(knownId)).some((a) => a.action === 'identity.registration_for_existing_account'));

    // Sign-in: an unknown email and a wrong password get one and the same problem.
    const wrongPassword = await problem(await login(known, 'not the right password at all'), 401);
    const noAccount = await problem(await login(newEmail('ghost'), 'not the right password at all'), 401);
    assert.deepEqual(shape(noAccount), shape(wrongPassword));
    assert.equal(noAccount.type, 'https://comptoir.dev/problems/invalid-credentials');
    const failures = await api.deps.sql<{ target_id: string | null; details: Record<string, unknown> }[]>`
      SELECT target_id, details FROM identity.audit_log WHERE action = 'identity.login_failed' AND request_id = ANY(${[wrongPassword.requestId!, noAccount.requestId!]}) ORDER BY id`;
    assert.deepEqual(failures.map((f) => [f.target_id, f.details.reason]), [
      [knownId, 'wrong_password'],
      [null, 'unknown_account'],
    ]);

    // Reset: same answer; only the known address gets a message.
    const resetRows = await outboxRows();
    const resetUnknown = await post('/v1/auth/password-reset', { email: newEmail('ghost') });
    assert.equal(await outboxRows(), resetRows, 'no message for an address without an account');
    const resetKnown = await post('/v1/auth/password-reset', { email: known });
    assert.deepEqual(await json(resetKnown, 202), await json(resetUnknown, 202));
    assert.equal(await outboxRows(), resetRows + 1);
  });

  test('bad input is a problem+json 4xx naming the field', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/v1/auth/register', { email: 'not-an-email', password }, 422, 'email'],
      ['/v1/auth/register', { email: `${'a'.repeat(250)}@example.com`, password }, 422, 'email'],
      ['/v1/auth/register', { email: newEmail('weak'), password: 'short' }, 422, 'password'],
      ['/v1/auth/register', { email: newEmail('common'), password: 'Password1234' }, 422, 'password'],
      ['/v1/auth/register', { email: newEmail('huge'), password: 'x'.repeat(5000) }, 422, 'password'],
      ['/v1/auth/register', { email: newEmail('lang'), password, language: 'x'.repeat(100) }, 422, 'language'],
      ['/v1/auth/register', { email: newEmail('extra'), password, role: 'admin' }, 422, 'role'],
      ['/v1/auth/register', { password }, 422, 'email'],
      ['/v1/auth/login', { email: 'nope', password }, 422, 'email'],
      ['/v1/auth/login', { email: newEmail('x'), password: '' }, 422, 'password'],
      ['/v1/auth/verify-email', {}, 422, 'token'],
      ['/v1/auth/verify-email', { token: 'cve_forged' }, 400, 'token'],
      ['/v1/auth/password-reset', { email: 'x'.repeat(300) }, 422, 'email'],
      ['/v1/auth/password-reset/confirm', { token: 'x'.repeat(500), password }, 422, 'token'],
      ['/v1/auth/password-reset/confirm', { token: 'cpr_forged', password }, 400, 'token'],
    ];
    for (const [path, body, status, field] of cases) {
      const p = await problem(await post(path, body), status);
      assert.ok(fields(p)?.includes(field), `${path} ${JSON.stringify(body).slice(0, 80)}: expected ${field} in ${JSON.stringify(p.errors)}`);
    }
    const weak = await problem(await post('/v1/auth/register', { email: 'camille.dupont@example.com', password: 'camille.dupont-2024' }), 422);
    assert.ok(weak.errors!.some((e) => e.field === 'password' && /email/.test(e.message)));
    const text = await post('/v1/auth/login', 'email=a', { headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    const broken = await problem(await post('/v1/auth/login', '{"email":'), 400);
    assert.equal(broken.type, 'https://comptoir.dev/problems/malformed-json');
  });

  test('a hash made with older scrypt parameters is upgraded at the next sign-in', async () => {
    const email = newEmail('legacy');
    const salt = randomBytes(16);
    const legacy = ['scrypt', 2 ** 14, 8, 1, salt.toString('base64'), scryptSync(password, salt, 64, { N: 2 ** 14, r: 8, p: 1 }).toString('base64')].join('$');
    assert.ok(needsRehash(legacy));
    const accountId = await insertAccount(api.deps.db, config, { email, passwordHash: legacy, emailVerified: true });
    await json<Tokens>(await login(email, password), 200);
    const [row] = await api.deps.sql<{ password_hash: string }[]>`SELECT password_hash FROM identity.accounts WHERE id = ${accountId}`;
    assert.notEqual(row!.password_hash, legacy);
    assert.ok(!needsRehash(row!.password_hash));
    await json<Tokens>(await login(email, password), 200);
  });

  test('an account with TOTP gets an MFA challenge instead of tokens; a disabled one is refused', async () => {
    const email = newEmail('mfa');
    const accountId = await verifiedAccount(email);
    await api.deps.sql`
      INSERT INTO identity.totp_factors (account_id, secret_enc, confirmed_at)
      VALUES (${accountId}, ${encryptPii(config.pii.keyring, 'JBSWY3DPEHPK3PXP', piiFields.totpSecret.context(accountId))}, now())`;
    const challenge = await json<Record<string, unknown>>(await login(email, password), 200);
    assert.equal(challenge.mfaRequired, true);
    assert.match(String(challenge.mfaToken), /^mfa_/);
    assert.equal(challenge.access_token, undefined);
    assert.equal(challenge.refresh_token, undefined);
    const sessions = await api.deps.sql`SELECT 1 FROM identity.sessions WHERE account_id = ${accountId}`;
    assert.equal(sessions.length, 0, 'no session before the second factor');

    const disabled = newEmail('disabled');
    const disabledId = await verifiedAccount(disabled);
    await api.deps.sql`UPDATE identity.accounts SET status = 'disabled' WHERE id = ${disabledId}`;
    assert.equal((await problem(await login(disabled, password), 403)).type, 'https://comptoir.dev/problems/account-disabled');
    assert.equal((await problem(await login(disabled, 'not the right password at all'), 401)).type, 'https://comptoir.dev/problems/invalid-credentials');
  });

  test('the delivery workflow runs once per deployment, under its fixed id', async () => {
    const again = await ensureNotificationDelivery(worker.context, { batchSize: 20, idleWaitMs: 1_000 });
    assert.equal(again, notificationDeliveryWorkflowId(config.TASK_QUEUE_PREFIX));
    const handle = api.deps.temporal.client.workflow.getHandle(again);
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING');
    assert.equal(description.type, 'notificationDelivery');
    const progress = await handle.query(notificationDeliveryProgressQuery);
    assert.ok(progress.delivered > 0, 'it delivered the messages of the tests above');
    await recordHistory(api.deps.temporal.client, again, 'notificationDelivery-running');
  });
});

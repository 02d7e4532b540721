import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { enqueueNotification, maxDeliveryAttempts } from '../../db/notifications';
import { personalDataDomains, gdprErasureWorkflowId, gdprErasureWorkflowType } from '../../identity/gdpr';
import { piiFields } from '../../identity/pii-fields';
import { hashToken } from '../../identity/sessions';
import { hashPassword } from '../../platform/passwords';
import { encryptPii } from '../../platform/pii';
import type { GdprErasureInput, GdprErasureResult } from '../../workflows/identity/gdprErasure';
import { notificationDeliveryWorkflowId } from '../../workflows/identity/notificationDelivery';
import { recordHistory } from '../support/histories';
import { signedInAs, type SignedIn } from '../support/identity';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

type Api = Awaited<ReturnType<typeof startApi>>;
type Worker = Awaited<ReturnType<typeof startWorker>>;

const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');

/** Values found nowhere else, so that finding one anywhere after the erasure can only mean it was left behind. */
const person = {
  email: `zephyrine.${run}@gdpr.test`,
  givenName: `Zéphyrine${run}`,
  familyName: `Quillfeather${run}`,
  phone: `+4179${digits(9)}`,
  language: 'rm-CH',
  currency: 'CHF',
};
const addresses = [
  {
    label: `Chalet${run}`,
    name: `Zéphyrine Q. ${run}`,
    line1: `7 chemin des Mésanges ${run}`,
    line2: `Escalier ${run}`,
    postalCode: `P${run}`,
    city: `Vevey${run}`,
    region: `Vaud${run}`,
    country: 'CH',
    phone: `+4121${digits(9)}`,
    isDefaultShipping: true,
    isDefaultBilling: true,
  },
  {
    label: `Bureau${run}`,
    name: `Z. Quillfeather ${run}`,
    line1: `1 quai du Mont-Blanc ${run}`,
    line2: `Étage ${run}`,
    postalCode: `Q${run}`,
    city: `Genève${run}`,
    region: `GE${run}`,
    country: 'CH',
    phone: `+4122${digits(9)}`,
    isDefaultShipping: false,
    isDefaultBilling: false,
  },
];
const totpSecret = randomBytes(20).toString('hex').toUpperCase();
const notificationToken = `mailed-token-${run}`;
const ssoSubject = `sso-subject-${run}`;

/** Every text-like column of every table in every non-system schema. */
async function textColumns(api: Api) {
  return api.deps.sql<{ table_schema: string; table_name: string; column_name: string }[]>`
    SELECT c.table_schema, c.table_name, c.column_name
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE t.table_type = 'BASE TABLE'
      AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
      AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') OR c.udt_name IN ('_text', '_varchar', '_bpchar'))
    ORDER BY 1, 2, 3`;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Where each needle occurs (`schema.table.column`); case-insensitive, anywhere inside the value. */
async function scan(api: Api, needles: string[]): Promise<{ where: string; needle: string }[]> {
  const found: { where: string; needle: string }[] = [];
  for (const column of await textColumns(api)) {
    const table = `${quote(column.table_schema)}.${quote(column.table_name)}`;
    const rows = await api.deps.sql.unsafe<{ needle: string }[]>(
      `SELECT DISTINCT n AS needle FROM ${table} t CROSS JOIN unnest($1::text[]) n WHERE strpos(lower(t.${quote(column.column_name)}::text), lower(n)) > 0`,
      [needles],
    );
    for (const row of rows) found.push({ where: `${column.table_schema}.${column.table_name}.${column.column_name}`, needle: row.needle });
  }
  return found;
}

/** One digest per table of all its rows: equal digests before and after means nothing in the database changed. */
async function fingerprint(api: Api): Promise<Record<string, string>> {
  const tables = await api.deps.sql<{ table_schema: string; table_name: string }[]>`
    SELECT table_schema, table_name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
    ORDER BY 1, 2`;
  const digests: Record<string, string> = {};
  for (const { table_schema, table_name } of tables) {
    const [row] = await api.deps.sql.unsafe<{ digest: string }[]>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${quote(table_schema)}.${quote(table_name)} t`,
    );
    digests[`${table_schema}.${table_name}`] = row!.digest;
  }
  return digests;
}

/** `npm run worker` for the identity queue alone, as a real process the test can kill. */
async function spawnIdentityWorker(config: ReturnType<typeof testConfig>): Promise<ChildProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../workers/identity.ts', import.meta.url))], {
    env: {
      ...process.env,
      TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX,
      WORKER_METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      // Its Schedule must not rotate keys in the middle of the idempotency check.
      SIGNING_KEY_ROTATION_DAYS: '365',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor(async () => output.includes('workers running') || child.exitCode !== null, { what: 'the identity worker process to start' });
  if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output}`);
  return child;
}

const config = testConfig('gdpr-e2e', { WORKER_METRICS_PORT: String(await freePort()) });

describe('GDPR: export everything, then erase everything', () => {
  let api: Api;
  let worker: Worker | undefined;
  let child: ChildProcess | undefined;
  let me: SignedIn;
  /** The email lookup hash, every ciphertext and every credential hash of the person: found before, never after. */
  let secrets: string[] = [];
  let previousEmailHash = '';
  /** Stored as they are (the secrets above, and an SSO subject kept in clear): the scan must find them before and never after. */
  let stored: string[] = [];
  /** Personal data in clear: encrypted at rest, so found nowhere, before or after. */
  const plaintext = [
    person.email,
    person.givenName,
    person.familyName,
    person.phone,
    ...addresses.flatMap((a) => [a.label, a.name, a.line1, a.line2, a.postalCode, a.city, a.region, a.phone]),
    totpSecret,
    notificationToken,
  ];

  const call = (method: string, path: string, body?: unknown, headers = me.headers) =>
    fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const expect = async (response: Response, status: number) => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  before(async () => {
    api = await startApi(config);
    const { sql, db } = api.deps;
    me = await signedInAs(config, 'customer', { email: person.email });
    const id = me.accountId;

    await expect(await call('PATCH', '/v1/me', { givenName: person.givenName, familyName: person.familyName, phone: person.phone, language: person.language, currency: person.currency }), 200);
    for (const address of addresses) await expect(await call('POST', '/v1/me/addresses', address), 201);
    await expect(await call('PUT', '/v1/me/consents/email', { granted: true }), 200);
    await expect(await call('PUT', '/v1/me/consents/sms', { granted: true }), 200);
    await expect(await call('PUT', '/v1/me/consents/email', { granted: false }), 200);

    // What other parts of identity write: a password, a confirmed second factor with a recovery code, a
    // mailed link, a staff SSO identity, and a message waiting in the outbox.
    await sql`UPDATE identity.accounts SET password_hash = ${await hashPassword(`pw-${run}-long enough`)} WHERE id = ${id}`;
    await sql`INSERT INTO identity.totp_factors (account_id, secret_enc, confirmed_at)
              VALUES (${id}, ${encryptPii(config.pii.keyring, totpSecret, piiFields.totpSecret.context(id))}, now())`;
    await sql`INSERT INTO identity.recovery_codes (code_hash, account_id) VALUES (${hashToken(`recovery-${run}`)}, ${id})`;
    await sql`INSERT INTO identity.one_time_tokens (account_id, purpose, token_hash, expires_at)
              VALUES (${id}, 'verify_email', ${hashToken(`link-${run}`)}, now() + interval '1 hour')`;
    await sql`INSERT INTO identity.external_identities (issuer, subject, account_id) VALUES ('https://sso.gdpr.test', ${ssoSubject}, ${id})`;
    await db.transaction((tx) => enqueueNotification(tx, config, { accountId: id, template: 'verify_email', recipient: person.email, payload: { token: notificationToken } }));
    // The worker's delivery loop may send that one before the erasure reaches it; this one it has given
    // up on (left for an operator), so it is certainly still pending when the erasure comes.
    const stuck = await db.transaction((tx) =>
      enqueueNotification(tx, config, { accountId: id, template: 'reset_password', recipient: person.email, payload: { token: `${notificationToken}-2` } }),
    );
    await sql`UPDATE notifications.outbox SET attempts = ${maxDeliveryAttempts}, last_error = 'mailbox unavailable' WHERE id = ${stuck}`;

    const [account] = await sql<Record<string, string>[]>`
      SELECT email_hash, email_enc, given_name_enc, family_name_enc, phone_enc, password_hash FROM identity.accounts WHERE id = ${id}`;
    const details = await sql<{ details_enc: string }[]>`SELECT details_enc FROM identity.addresses WHERE account_id = ${id}`;
    const outbox = await sql<{ recipient_enc: string; payload_enc: string }[]>`SELECT recipient_enc, payload_enc FROM notifications.outbox WHERE account_id = ${id}`;
    const [totp] = await sql<{ secret_enc: string }[]>`SELECT secret_enc FROM identity.totp_factors WHERE account_id = ${id}`;
    previousEmailHash = account!.email_hash!;
    secrets = [
      ...Object.values(account!),
      ...details.map((row) => row.details_enc),
      ...outbox.flatMap((row) => [row.recipient_enc, row.payload_enc]),
      totp!.secret_enc,
      hashToken(me.tokens.refresh_token),
      hashToken(`recovery-${run}`),
      hashToken(`link-${run}`),
    ];
    stored = [...secrets, ssoSubject];
    assert.equal(details.length, 2);
    assert.equal(outbox.length, 2);
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await worker?.stop();
    await api?.stop();
  });

  test('the export holds every piece of personal data, and is audited', async () => {
    const response = await call('GET', '/v1/me/export');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-disposition') ?? '', /^attachment; filename="comptoir-personal-data-\d{4}-\d{2}-\d{2}\.json"$/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const data = (await response.json()) as { accountId: string; domains: Record<string, Record<string, unknown>> };
    const text = JSON.stringify(data);

    assert.equal(data.accountId, me.accountId);
    assert.deepEqual(Object.keys(data.domains).sort(), personalDataDomains.map((d) => d.domain).sort());
    // The payload of a pending message is left out on purpose (a mailed token is a live secret), and
    // the TOTP secret too: the export says MFA is on, not how to pass it.
    for (const value of [...Object.values(person), ...addresses.flatMap((a) => Object.values(a).filter((v) => typeof v === 'string')), ssoSubject]) {
      assert.ok(text.includes(JSON.stringify(value)), `the export holds ${value}`);
    }
    assert.ok(!text.includes(totpSecret) && !text.includes(notificationToken), 'no secrets in the export');
    for (const value of secrets) assert.ok(!text.includes(value), 'no hashes or ciphertexts in the export');

    const identity = data.domains.identity as {
      account: Record<string, unknown>;
      mfa: { enabled: boolean; recoveryCodes: { total: number; unused: number } };
      addresses: Record<string, unknown>[];
      consents: { current: Record<string, { granted: boolean; changedAt: string | null }>; history: { channel: string; granted: boolean }[] };
      sessions: { id: string; createdAt: string; lastUsedAt: string }[];
      externalIdentities: { issuer: string; subject: string }[];
      emailLinks: { purpose: string }[];
    };
    assert.equal(identity.account.email, person.email);
    assert.deepEqual(identity.mfa.enabled, true);
    assert.deepEqual(identity.mfa.recoveryCodes, { total: 1, unused: 1 });
    assert.equal(identity.addresses.length, 2);
    assert.deepEqual(identity.consents.history.map((e) => [e.channel, e.granted]), [['email', false], ['sms', true], ['email', true]]);
    assert.equal(identity.consents.current.sms!.granted, true);
    const [session] = await api.deps.sql<{ id: string }[]>`SELECT id FROM identity.sessions WHERE account_id = ${me.accountId}`;
    assert.deepEqual(identity.sessions.map((s) => s.id), [session!.id]);
    assert.ok(identity.sessions[0]!.createdAt && identity.sessions[0]!.lastUsedAt);
    assert.deepEqual(identity.emailLinks.map((l) => l.purpose), ['verify_email']);
    const messages = (data.domains.notifications as { messages: { template: string; createdAt: string; deliveredAt: string | null }[] }).messages;
    assert.deepEqual(messages.map((m) => m.template), ['verify_email', 'reset_password']);

    const [audit] = await api.deps.sql<{ actor_id: string }[]>`
      SELECT actor_id FROM identity.audit_log WHERE action = 'identity.data_exported' AND target_id = ${me.accountId}`;
    assert.equal(audit?.actor_id, me.accountId);
    const again = (await (await call('GET', '/v1/me/export')).json()) as typeof data;
    const events = (again.domains.audit as { events: { action: string; byYou: boolean }[] }).events;
    assert.ok(events.some((e) => e.action === 'identity.data_exported' && e.byYou), 'audit events by the person are exported too');
  });

  test('DELETE /v1/me: sessions end first, a worker killed mid-way is replaced, and no trace of the person is left in any table', async () => {
    const { sql, temporal } = api.deps;
    // The scanner works: what is stored as it is, it finds; what is personal, it finds nowhere in clear.
    const seen = new Set((await scan(api, stored)).map((hit) => hit.needle));
    assert.deepEqual(stored.filter((value) => !seen.has(value)), [], 'the scan finds every stored value');
    assert.deepEqual(await scan(api, plaintext), [], 'personal data is encrypted at rest');

    child = await spawnIdentityWorker(config);
    // Hold the account row so the identity eraser blocks where the test can kill its worker.
    let release!: () => void;
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holding = sql.begin(async (tx) => {
      await tx`SELECT 1 FROM identity.accounts WHERE id = ${me.accountId} FOR UPDATE`;
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await lockTaken;

    const response = await call('DELETE', '/v1/me');
    const accepted = (await expect(response, 202)) as { workflowId: string };
    assert.equal(accepted.workflowId, gdprErasureWorkflowId(config.TASK_QUEUE_PREFIX, me.accountId));
    const location = response.headers.get('location')!;

    await waitFor(
      async () => {
        const [row] = await sql<{ waiting: number }[]>`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%update "identity"."accounts"%'`;
        return row!.waiting > 0;
      },
      { what: 'the identity eraser to wait on the account row' },
    );
    // Mid-way: the sessions are over already, the account is not erased yet.
    await expect(await call('GET', '/v1/me'), 401);
    const [midway] = await sql<{ status: string; email_hash: string | null }[]>`SELECT status, email_hash FROM identity.accounts WHERE id = ${me.accountId}`;
    assert.deepEqual({ ...midway }, { status: 'active', email_hash: previousEmailHash });

    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    release();
    await holding;
    worker = await startWorker(config);

    const status = await waitFor(
      async () => {
        const view = (await (await fetch(`${api.baseUrl}${location}`)).json()) as { status: string; completedAt: string | null };
        return view.status === 'completed' ? view : undefined;
      },
      { what: 'the erasure to finish on the new worker', timeoutMs: 120_000, intervalMs: 250 },
    );
    assert.ok(status.completedAt);
    const handle = temporal.client.workflow.getHandle(accepted.workflowId);
    const result = (await handle.result()) as GdprErasureResult;
    assert.equal(result.completedNow, true);
    assert.deepEqual(result.erased.map((e) => e.domain), personalDataDomains.map((d) => d.domain));
    assert.ok(result.erased.find((e) => e.domain === 'identity')!.changed > 0);
    assert.ok(result.erased.find((e) => e.domain === 'notifications')!.changed > 0);
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(
      events.some((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1 || event.activityTaskTimedOutEventAttributes),
      'the history records the crash and the retry',
    );
    await recordHistory(temporal.client, accepted.workflowId, 'gdprErasure');

    const found = await scan(api, [...plaintext, ...stored]);
    assert.deepEqual(found, [], 'nothing personal, no hash and no ciphertext of the person remains');
    const [account] = await sql<{ status: string; erased_at: Date | null; language: string | null; currency: string | null; email_verified_at: Date | null }[]>`
      SELECT status, erased_at, language, currency, email_verified_at FROM identity.accounts WHERE id = ${me.accountId}`;
    assert.equal(account!.status, 'erased');
    assert.ok(account!.erased_at);
    assert.deepEqual([account!.language, account!.currency, account!.email_verified_at], [null, null, null]);
    const [left] = await sql<{ n: number }[]>`
      SELECT (SELECT count(*) FROM identity.addresses WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.consent_events WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.totp_factors WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.recovery_codes WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.one_time_tokens WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.external_identities WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.refresh_tokens r JOIN identity.sessions s ON s.id = r.session_id WHERE s.account_id = ${me.accountId})
           + (SELECT count(*) FROM notifications.outbox WHERE account_id = ${me.accountId} AND delivered_at IS NULL) AS n`;
    assert.equal(Number(left!.n), 0);
    const [live] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM identity.sessions WHERE account_id = ${me.accountId} AND revoked_at IS NULL`;
    assert.equal(live!.n, 0);

    const audit = await sql<{ action: string; actor_type: string }[]>`
      SELECT action, actor_type FROM identity.audit_log WHERE target_id = ${me.accountId} AND action LIKE 'identity.erasure_%' ORDER BY id`;
    assert.deepEqual(audit.map((a) => [a.action, a.actor_type]), [['identity.erasure_requested', 'account'], ['identity.erasure_completed', 'system']]);

    await expect(await call('GET', '/v1/me'), 401);
    await expect(await call('POST', '/v1/auth/refresh', { refresh_token: me.tokens.refresh_token }, {}), 401);
  });

  test('erasing again changes nothing and fails nothing: the workflow and every eraser are idempotent', async () => {
    const { temporal, db } = api.deps;
    // The worker process started the notification delivery loop on this queue; it serves the whole
    // outbox, where rows of earlier test files may still be pending. Stopped, so that only the erasure
    // could change anything below.
    await temporal.client.workflow
      .getHandle(notificationDeliveryWorkflowId(config.TASK_QUEUE_PREFIX))
      .terminate('the idempotency check needs a quiet database')
      .catch(() => {});
    const before = await fingerprint(api);
    const input: GdprErasureInput = { accountId: me.accountId };
    const again = await temporal.client.workflow.execute<(input: GdprErasureInput) => Promise<GdprErasureResult>>(gdprErasureWorkflowType, {
      workflowId: gdprErasureWorkflowId(config.TASK_QUEUE_PREFIX, me.accountId),
      taskQueue: config.taskQueues.identity,
      args: [input],
    });
    assert.deepEqual(again, {
      accountId: me.accountId,
      sessionsRevoked: 0,
      erased: personalDataDomains.map((d) => ({ domain: d.domain, changed: 0 })),
      completedNow: false,
    });
    for (const domain of personalDataDomains) assert.equal(await domain.erase(db, config, me.accountId), 0, domain.domain);
    assert.deepEqual(await fingerprint(api), before, 'no row of any table changed');
  });
});

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { eq, inArray } from 'drizzle-orm';
import { createIdentityActivities } from '../../activities/identity/index';
import { createPiiRotationActivities } from '../../activities/identity/piiRotation';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { enqueueNotification } from '../../db/notifications';
import { idColumnType, replaceValues, valuesNotUnderKey } from '../../db/identity/pii-rotation';
import { accounts, addresses } from '../../db/schema/identity';
import { notificationOutbox } from '../../db/schema/notifications';
import { insertAccount } from '../../identity/accounts';
import { startTotpEnrolment } from '../../identity/mfa';
import { piiFields, type PiiField } from '../../identity/pii-fields';
import { reencryptEverything } from '../../identity/pii-rotation';
import { TokenService } from '../../identity/tokens';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { decryptPii, encryptPii, keyIdOf, parsePiiKeyring } from '../../platform/pii';
import { connectPostgres } from '../../platform/postgres';
import { createWorkerContext } from '../../workers/runtime';
import { piiKeyRotationWorkflowType, piiRotationProgressQuery, type PiiKeyRotationInput, type PiiRotationProgress } from '../../workflows/identity/piiKeyRotation';
import rotatePii from '../../scripts/identity/rotate-pii';
import { recordHistory } from '../support/histories';
import { adminHeaders } from '../support/identity';
import { startWorker, testConfig } from '../support/stack';

/*
 * The run's keyring (the one every other test file writes with) plays "v1": rows written under a
 * keyring of this file's own would be unreadable to the rest of the run. Two fresh keys play v2 and
 * v3; at the end every value is turned back to the run's key, so files running after this one read
 * what they wrote.
 */
const base = testConfig('pii-rotation');
const suffix = randomBytes(4).toString('hex');
const keyEntry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const [v2, v3] = [`ka${suffix}`, `kb${suffix}`];
const [v2Entry, v3Entry] = [keyEntry(v2), keyEntry(v3)];
const withKeys = (keys: string) => testConfig('pii-rotation', { PII_KEYS: keys });
const configV1 = base;
const configV2 = withKeys(`${base.PII_KEYS},${v2Entry}`);
const configV3 = withKeys(`${base.PII_KEYS},${v2Entry},${v3Entry}`);
const onlyV2 = withKeys(v2Entry);
const restore = withKeys(`${v2Entry},${v3Entry},${base.PII_KEYS}`);

const postgres = connectPostgres(base.DATABASE_URL, { max: 2, applicationName: 'comptoir-test' });
const silent = createLogger({ level: 'silent', name: 'pii-rotation-test' });
const seededAccounts: string[] = [];
const seededMessages: number[] = [];

after(async () => {
  const restored = await reencryptEverything(postgres.db, restore.pii.keyring);
  assert.equal(await valuesNotUnder(base.pii.keyring.current), restored.unreadable, 'every readable value is back under the run\'s key');
  if (seededMessages.length > 0) await postgres.db.delete(notificationOutbox).where(inArray(notificationOutbox.id, seededMessages));
  if (seededAccounts.length > 0) await postgres.db.delete(accounts).where(inArray(accounts.id, seededAccounts));
  await postgres.close();
});

interface Seeded {
  field: PiiField;
  id: string;
  plaintext: string;
}

/** People with every kind of personal value (names, phone, address, TOTP secret, a queued message), written under `config`'s current key. */
async function seedPeople(config: Config, count: number): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  const enc = (field: PiiField, id: string, plaintext: string) => {
    seeded.push({ field, id, plaintext });
    return encryptPii(config.pii.keyring, plaintext, field.context(id));
  };
  for (let i = 0; i < count; i++) {
    const email = `rotation-${randomUUID()}@test.comptoir.dev`;
    const accountId = await insertAccount(postgres.db, config, { email });
    seededAccounts.push(accountId);
    seeded.push({ field: piiFields.accountEmail, id: accountId, plaintext: email });
    await postgres.db
      .update(accounts)
      .set({
        givenNameEnc: enc(piiFields.accountGivenName, accountId, `Camille ${i}`),
        familyNameEnc: enc(piiFields.accountFamilyName, accountId, `Dupont ${i}`),
        phoneEnc: enc(piiFields.accountPhone, accountId, `+33 6 00 00 00 ${String(i).padStart(2, '0')}`),
      })
      .where(eq(accounts.id, accountId));
    const addressId = randomUUID();
    await postgres.db.insert(addresses).values({
      id: addressId,
      accountId,
      country: 'FR',
      detailsEnc: enc(piiFields.addressDetails, addressId, JSON.stringify({ line1: `${i} rue de la Paix`, city: 'Paris', postcode: '75002' })),
    });
    const enrolment = await startTotpEnrolment({ db: postgres.db, config }, accountId);
    seeded.push({ field: piiFields.totpSecret, id: accountId, plaintext: enrolment!.secret });
    const messageId = await enqueueNotification(postgres.db, config, { accountId, template: 'verify_email', recipient: email, payload: { token: `t-${i}` } });
    seededMessages.push(messageId);
    seeded.push({ field: piiFields.notificationRecipient, id: String(messageId), plaintext: email });
    seeded.push({ field: piiFields.notificationPayload, id: String(messageId), plaintext: JSON.stringify({ token: `t-${i}` }) });
  }
  return seeded;
}

function tableSql(field: PiiField) {
  const [schema, table] = field.table.split('.');
  return `"${schema}"."${table}"`;
}

async function storedValue(field: PiiField, id: string): Promise<string> {
  const [row] = await postgres.sql.unsafe<{ value: string }[]>(`SELECT "${field.column}" AS value FROM ${tableSql(field)} WHERE "${field.idColumn}"::text = $1`, [id]);
  return row!.value;
}

/** Values of every encrypted column, in the whole database, not under `keyId`. */
async function valuesNotUnder(keyId: string): Promise<number> {
  let total = 0;
  for (const field of Object.values(piiFields)) {
    const [row] = await postgres.sql.unsafe<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM ${tableSql(field)} WHERE "${field.column}" IS NOT NULL AND NOT starts_with("${field.column}", $1)`,
      [`${keyId}.`],
    );
    total += row!.count;
  }
  return total;
}

async function assertUnder(config: Config, seeded: Seeded[]): Promise<void> {
  for (const { field, id, plaintext } of seeded) {
    const value = await storedValue(field, id);
    assert.equal(keyIdOf(value), config.pii.keyring.current, `${field.table}.${field.column} ${id}`);
    assert.equal(decryptPii(config.pii.keyring, value, field.context(id)), plaintext);
  }
}

const claims = { accountId: randomUUID(), role: 'customer' as const, sessionId: randomUUID(), authMethods: ['pwd'] };

describe('PII key rotation', () => {
  const api = connectApiDeps(configV2);
  const app = createApp(api);
  let worker: Awaited<ReturnType<typeof startWorker>>;
  before(async () => {
    worker = await startWorker(configV2);
  });
  after(async () => {
    await worker?.stop();
    await api.close();
  });

  test('v1 → v2: every value is re-encrypted to the same plaintext, tokens still sign, and a second run changes nothing', async () => {
    // A signing key exists, its private half under v1; a process knowing only v2 cannot use it yet.
    await new TokenService({ db: postgres.db, config: configV1 }).signAccountToken(claims);
    await assert.rejects(new TokenService({ db: postgres.db, config: onlyV2 }).signAccountToken(claims), /unknown key id/);
    const seeded = await seedPeople(configV1, 4);
    // A value no key of the ring opens: left as it is, and reported.
    const strayId = seededAccounts[0]!;
    const stray = encryptPii(parsePiiKeyring(keyEntry('kz')), 'Unreadable', piiFields.accountGivenName.context(strayId));
    await postgres.db.update(accounts).set({ givenNameEnc: stray }).where(eq(accounts.id, strayId));
    const seededOk = seeded.filter((each) => !(each.field === piiFields.accountGivenName && each.id === strayId));
    const headers = await adminHeaders(configV2);
    const before = await valuesNotUnder(v2);
    assert.ok(before >= seeded.length);

    const response = await app.request('http://local/v1/admin/pii/rotate', { method: 'POST', headers });
    assert.equal(response.status, 202, await response.clone().text());
    const { workflowId, targetKeyId } = (await response.json()) as { workflowId: string; targetKeyId: string };
    assert.equal(targetKeyId, v2);
    const first = (await api.temporal.client.workflow.getHandle(workflowId).result()) as PiiRotationProgress;
    await recordHistory(api.temporal.client, workflowId, 'piiKeyRotation');

    assert.equal(first.done, true);
    assert.deepEqual(first.fields, Object.keys(piiFields));
    assert.equal(first.reencrypted + first.unreadable, before);
    assert.equal(first.changedMeanwhile, 0);
    assert.ok(first.unreadableSample.some((each) => each.field === 'accountGivenName' && each.id === strayId));
    assert.equal(await valuesNotUnder(v2), first.unreadable, 'only the unreadable values are left under another key');
    assert.equal(await storedValue(piiFields.accountGivenName, strayId), stray);
    await assertUnder(configV2, seededOk);
    for (const name of ['accountEmail', 'accountPhone', 'addressDetails', 'totpSecret', 'signingKeyPrivate', 'notificationRecipient', 'notificationPayload']) {
      assert.ok((first.reencryptedByField[name] ?? 0) > 0, `${name} was re-encrypted`);
    }

    // The signing key's private half moved too: a process that knows only v2 signs, and its tokens verify.
    const tokens = new TokenService({ db: postgres.db, config: onlyV2 });
    const signed = await tokens.signAccountToken(claims);
    const principal = await tokens.verify(signed.accessToken);
    assert.equal(principal.kind === 'account' && principal.accountId, claims.accountId);

    const again = await app.request('http://local/v1/admin/pii/rotate', { method: 'POST', headers });
    assert.equal(again.status, 202);
    const second = (await api.temporal.client.workflow.getHandle(workflowId).result()) as PiiRotationProgress;
    assert.equal(second.reencrypted, 0, 'nothing left to re-encrypt');
    assert.equal(second.unreadable, first.unreadable);

    // The operator's command runs the same workflow, and waits for it.
    await rotatePii(['--wait', '--batch-size', '50'], configV2);

    const audit = await postgres.sql<{ action: string; actor_type: string; details: Record<string, unknown> }[]>`
      SELECT action, actor_type, details FROM identity.audit_log
      WHERE action IN ('identity.pii_key_rotation_requested', 'identity.pii_key_rotated') AND target_id = ${v2} ORDER BY id`;
    assert.deepEqual(audit.map((row) => [row.action, row.actor_type]), [
      ['identity.pii_key_rotation_requested', 'account'],
      ['identity.pii_key_rotated', 'system'],
      ['identity.pii_key_rotation_requested', 'account'],
      ['identity.pii_key_rotated', 'system'],
      ['identity.pii_key_rotation_requested', 'system'],
      ['identity.pii_key_rotated', 'system'],
    ]);
    assert.equal(audit[1]!.details.reencrypted, first.reencrypted);
    assert.equal(audit[3]!.details.reencrypted, 0);
    assert.equal(audit[5]!.details.reencrypted, 0);
    // Counts only: no value, clear or encrypted, reaches the audit log.
    const details = JSON.stringify(audit.map((row) => row.details));
    assert.ok(!seeded.some((each) => details.includes(each.plaintext)) && !details.includes(stray));

    await postgres.db.update(accounts).set({ givenNameEnc: null }).where(eq(accounts.id, strayId));
  });

  test('v2 → v3 in small batches: it continues as new, and a worker lost mid-batch is resumed where it was', async () => {
    const seeded = await seedPeople(configV2, 3);
    const before = await valuesNotUnder(v3);
    const context = await createWorkerContext(configV3);
    const taskQueue = `${configV3.TASK_QUEUE_PREFIX}pii-rotation-${suffix}`;
    const real = createIdentityActivities({ config: configV3, db: context.postgres.db, sql: context.postgres.sql, redis: context.redis, logger: silent });
    const makeWorker = (activities: typeof real) =>
      Worker.create({
        connection: context.connection,
        namespace: configV3.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowBundle: { codePath: configV3.WORKFLOW_BUNDLE_PATH! },
        activities,
        plugins: [context.otelPlugin],
      });

    // The fifth batch does its work, then its worker goes away before reporting it.
    let calls = 0;
    let reached: ((result: Awaited<ReturnType<typeof real.reencryptPiiBatch>>) => void) | undefined;
    const lostBatch = new Promise<Awaited<ReturnType<typeof real.reencryptPiiBatch>>>((resolve) => (reached = resolve));
    let dropWorker: (() => void) | undefined;
    const dropped = new Promise<void>((resolve) => (dropWorker = resolve));
    const doomed = await makeWorker({
      ...real,
      async reencryptPiiBatch(input) {
        const result = await real.reencryptPiiBatch(input);
        if (++calls === 5) {
          reached!(result);
          await dropped;
          throw new Error('worker lost before reporting the batch');
        }
        return result;
      },
    });
    const doomedRun = doomed.run();
    const workflowId = `${configV3.TASK_QUEUE_PREFIX}pii-key-rotation-resume-${suffix}`;
    // Small batches, two per run: about a dozen batches whatever the size of the run's database, so
    // the fifth is mid-way and the walk still finishes quickly.
    const input: PiiKeyRotationInput = { targetKeyId: v3, batchSize: Math.max(3, Math.ceil(before / 12)), batchesPerRun: 2 };
    const handle = await api.temporal.client.workflow.start(piiKeyRotationWorkflowType, { workflowId, taskQueue, args: [input] });

    const lost = await lostBatch;
    const progress = await handle.query(piiRotationProgressQuery);
    assert.equal(progress.run, 3, 'two batches per run: the fifth batch is in the third run');
    assert.equal(progress.batches, 4);
    assert.equal(await valuesNotUnder(v3), before - progress.reencrypted - lost.reencrypted, 'the progress accounts for every value moved so far');
    assert.ok((await valuesNotUnder(v3)) > 0, 'stopped mid-way');
    const firstRun = await api.temporal.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
    assert.equal(firstRun.status.name, 'CONTINUED_AS_NEW');

    doomed.shutdown();
    dropWorker!();
    await doomedRun;

    const fresh = await makeWorker(real);
    const result = (await fresh.runUntil(handle.result())) as PiiRotationProgress;
    await recordHistory(api.temporal.client, workflowId, 'piiKeyRotation-resumed');
    await context.close();

    assert.equal(result.done, true);
    assert.ok(result.run > 3);
    // Every value moved exactly once: the lost batch's values were not read again by its retry.
    assert.equal(result.reencrypted + lost.reencrypted + result.unreadable, before);
    assert.equal(result.changedMeanwhile, 0);
    assert.equal(await valuesNotUnder(v3), result.unreadable);
    await assertUnder(configV3, seeded);
  });

  test('activities: a batch is idempotent, a worker on the old key refuses, a value changed meanwhile is not overwritten', async () => {
    const seeded = (await seedPeople(configV2, 2)).filter((each) => each.field === piiFields.accountPhone);
    const activities = createPiiRotationActivities({ db: postgres.db, config: configV3, logger: silent });
    const input = { field: 'accountPhone', afterId: null, batchSize: 1000, targetKeyId: v3 };

    const stale = createPiiRotationActivities({ db: postgres.db, config: configV2, logger: silent });
    await assert.rejects(stale.reencryptPiiBatch(input), /redeploy/);
    assert.equal(keyIdOf(await storedValue(piiFields.accountPhone, seeded[0]!.id)), v2, 'the stale worker wrote nothing');

    // Someone changes their phone between the batch's read and its write: the new number stays.
    const field = piiFields.accountPhone;
    const idType = await idColumnType(postgres.db, field);
    const read = (await valuesNotUnderKey(postgres.db, field, idType, v3, null, 1000)).find((row) => row.id === seeded[1]!.id)!;
    const newer = encryptPii(configV3.pii.keyring, '+33 7 99 99 99 99', field.context(read.id));
    await postgres.db.update(accounts).set({ phoneEnc: newer }).where(eq(accounts.id, read.id));
    const written = await replaceValues(postgres.db, field, idType, [{ id: read.id, old: read.value, new: encryptPii(configV3.pii.keyring, seeded[1]!.plaintext, field.context(read.id)) }]);
    assert.equal(written, 0);
    assert.equal(await storedValue(field, read.id), newer);

    const once = await activities.reencryptPiiBatch(input);
    assert.equal(once.reencrypted, 1, 'the one phone still under v2');
    assert.equal(once.done, true);
    const twice = await activities.reencryptPiiBatch(input);
    assert.equal(twice.reencrypted, 0);
    assert.equal(twice.read, twice.unreadable, 'only values no key opens are read again');
    await assertUnder(configV3, [seeded[0]!]);

    await activities.recordPiiKeyRotated({ rotationId: `test-${suffix}`, targetKeyId: v3, counts: { batches: 1, reencrypted: 1, changedMeanwhile: 0, unreadable: 0, reencryptedByField: {} } });
    await activities.recordPiiKeyRotated({ rotationId: `test-${suffix}`, targetKeyId: v3, counts: { batches: 1, reencrypted: 1, changedMeanwhile: 0, unreadable: 0, reencryptedByField: {} } });
    const [recorded] = await postgres.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM identity.audit_log WHERE action = 'identity.pii_key_rotated' AND details->>'rotationId' = ${`test-${suffix}`}`;
    assert.equal(recorded!.count, 1, 'a retried record appends nothing');
  });
});

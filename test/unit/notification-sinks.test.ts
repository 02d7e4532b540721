import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotificationActivities } from '../../activities/identity/notifications';
import { enqueueNotification, maxDeliveryAttempts, type NewNotification } from '../../db/notifications';
import { deliverPendingNotifications } from '../../notifications/delivery';
import { fileSink, logSink, messageFileName, type NotificationSink, type OutgoingMessage } from '../../notifications/sinks';
import { accountLink, renderNotification } from '../../notifications/templates';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';

const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const scratch = (name: string) => join(process.env.COMPTOIR_TEST_RUN_DIR ?? tmpdir(), `notifications-${name}-${run}`);

const message = (id: number, text = 'Bonjour'): OutgoingMessage => ({
  id,
  messageId: `<notification.${id}.test@comptoir.localhost>`,
  channel: 'email',
  template: 'verify_email',
  to: 'camille@example.com',
  subject: 'Confirmez votre adresse email',
  text,
  html: `<p>${text}</p>`,
  queuedAt: '2026-01-02T03:04:05.000Z',
});

describe('file sink', () => {
  test('one file per message, named by id, owner-only; a redelivery replaces it instead of adding one', async () => {
    const directory = scratch('file-sink');
    const sink = fileSink(directory);
    await sink.deliver(message(42, 'first'));
    await sink.deliver(message(42, 'second'));
    await sink.deliver(message(43));
    assert.deepEqual(readdirSync(directory).sort(), [messageFileName(42), messageFileName(43)], 'no second copy, no temporary file left behind');
    assert.equal(messageFileName(42), '000000000042.json');
    const written = JSON.parse(readFileSync(join(directory, messageFileName(42)), 'utf8')) as OutgoingMessage;
    assert.deepEqual(written, message(42, 'second'));
    assert.equal(statSync(join(directory, messageFileName(42))).mode & 0o777, 0o600);
  });
});

describe('log sink', () => {
  test('writes the whole message on one log line', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    await logSink(createLogger({ level: 'info', name: 'sink-test', destination })).deliver(message(7, 'link: https://shop.example/account/verify-email#token=cve_abc'));
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.notification, message(7, 'link: https://shop.example/account/verify-email#token=cve_abc'));
  });
});

describe('templates', () => {
  const base = 'https://shop.example/';
  test('links carry the token in the fragment, never in the query string', () => {
    assert.equal(accountLink(base, 'verify-email', 'cve_abc'), 'https://shop.example/account/verify-email#token=cve_abc');
    const verify = renderNotification('verify_email', { token: 'cve_abc', expiresAt: '2026-01-02T03:04:05.000Z' }, base);
    assert.equal(verify.subject, 'Confirm your email address');
    assert.match(verify.text, /https:\/\/shop\.example\/account\/verify-email#token=cve_abc/);
    assert.match(verify.text, /until 2026-01-02 03:04 UTC/);
    const reset = renderNotification('reset_password', { token: 'cpr_xyz', language: 'fr-CA' }, base);
    assert.equal(reset.subject, 'Réinitialisez votre mot de passe');
    assert.match(reset.text, /account\/reset-password#token=cpr_xyz/);
    const exists = renderNotification('account_exists', { language: 'de' }, base);
    assert.equal(exists.subject, 'You already have a Comptoir account', 'languages without a translation fall back to English');
    assert.doesNotMatch(exists.text, /token/);
  });

  test('a message that needs a token refuses to render without one', () => {
    assert.throws(() => renderNotification('reset_password', {}, base), /needs a token/);
  });
});

describe('delivery from the outbox (real Postgres)', () => {
  // No backoff between attempts here: these tests drain again at once after a failure (backoff has its own test).
  const config = testConfig('notification-sinks', { NOTIFICATION_RETRY_BASE_MS: '0' });
  const postgres = connectPostgres(config.DATABASE_URL, { max: 2, applicationName: 'comptoir-test' });
  const quiet = createLogger({ level: 'silent', name: 'delivery-test' });
  /** Runs an activity as a worker would; the SDK's own log of the failure the test provokes stays quiet. */
  const activityEnvironment = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  after(() => postgres.close());

  const newMessage = (template: NewNotification['template'] = 'verify_email'): NewNotification => ({
    accountId: null,
    template,
    recipient: `delivery-${run}-${randomBytes(3).toString('hex')}@example.com`,
    payload: { token: `cve_${randomBytes(8).toString('hex')}`, expiresAt: '2026-01-02T03:04:05.000Z' },
  });
  const enqueue = (m: NewNotification) => postgres.db.transaction((tx) => enqueueNotification(tx, config, m));
  const row = async (id: number) =>
    (
      await postgres.sql<{ delivered_at: Date | null; recipient_enc: string | null; payload_enc: string | null; attempts: number; last_error: string | null }[]>`
        SELECT delivered_at, recipient_enc, payload_enc, attempts, last_error FROM notifications.outbox WHERE id = ${id}`
    )[0]!;
  /** Drains until the given rows are no longer pending (other test files may have left rows of their own). */
  async function drainUntilDone(sink: NotificationSink, ids: number[]) {
    for (let round = 0; round < 20; round++) {
      const pending = await Promise.all(ids.map(async (id) => (await row(id)).delivered_at === null));
      if (!pending.includes(true)) return;
      await deliverPendingNotifications({ db: postgres.db, config, sink, logger: quiet }, 500);
    }
    assert.fail('the rows were never delivered');
  }

  test('content is encrypted at rest and bound to its row', async () => {
    const queued = newMessage();
    const id = await enqueue(queued);
    const stored = await row(id);
    assert.ok(stored.recipient_enc && !stored.recipient_enc.includes(queued.recipient.split('@')[0]!));
    assert.ok(stored.payload_enc && !stored.payload_enc.includes(queued.payload.token!));
  });

  test('idempotent: a delivery rolled back after the sink wrote (a crash) and done again leaves one file; a further drain sends nothing', async () => {
    const directory = scratch('idempotent');
    const sink = fileSink(directory);
    const queued = newMessage();
    const id = await enqueue(queued);

    // The sink writes, then the transaction that would mark the row delivered never commits.
    const crash = new Error('worker killed before commit');
    await assert.rejects(
      postgres.db.transaction(async (tx) => {
        for (let round = 0; round < 20; round++) {
          await deliverPendingNotifications({ db: tx, config, sink, logger: quiet }, 500);
          if (existsSync(join(directory, messageFileName(id)))) break;
        }
        throw crash;
      }),
      crash,
    );
    assert.ok(readdirSync(directory).includes(messageFileName(id)), 'the sink had the message');
    assert.equal((await row(id)).delivered_at, null, 'still pending after the crash');
    assert.ok((await row(id)).recipient_enc, 'and still deliverable');

    await drainUntilDone(sink, [id]);
    const afterRetry = readFileSync(join(directory, messageFileName(id)), 'utf8');
    const delivered = JSON.parse(afterRetry) as OutgoingMessage;
    assert.equal(delivered.to, queued.recipient);
    assert.match(delivered.text, new RegExp(`#token=${queued.payload.token}`));
    const done = await row(id);
    assert.ok(done.delivered_at);
    assert.equal(done.recipient_enc, null, 'the address is wiped once delivered');
    assert.equal(done.payload_enc, null, 'and so is the link');
    assert.equal(done.attempts, 1);

    // The activity, run twice more: the delivered message is not handed over again.
    const activities = createNotificationActivities({ db: postgres.db, config, logger: quiet, sink });
    for (let i = 0; i < 2; i++) await activityEnvironment().run(activities.deliverNotifications, { batchSize: 500, idleWaitMs: 0 });
    assert.equal(readdirSync(directory).filter((file) => file === messageFileName(id)).length, 1);
    assert.equal(readFileSync(join(directory, messageFileName(id)), 'utf8'), afterRetry);
    assert.equal((await row(id)).attempts, 1);
    assert.deepEqual(readdirSync(directory).filter((file) => !file.endsWith('.json')), [], 'no temporary files');
  });

  test('an unreadable message fails alone: the attempt is recorded and the rest of the batch goes out', async () => {
    const directory = scratch('poison');
    const good = await enqueue(newMessage('reset_password'));
    const bad = await enqueue(newMessage());
    // Another row's ciphertext: encryption is bound to the row id, so it must not decrypt here.
    await postgres.sql`UPDATE notifications.outbox SET payload_enc = (SELECT payload_enc FROM notifications.outbox WHERE id = ${good}) WHERE id = ${bad}`;
    await drainUntilDone(fileSink(directory), [good]);
    assert.ok(readdirSync(directory).includes(messageFileName(good)));
    assert.ok(!readdirSync(directory).includes(messageFileName(bad)));
    const failed = await row(bad);
    assert.equal(failed.delivered_at, null);
    assert.ok(failed.attempts >= 1);
    assert.match(failed.last_error ?? '', /^PiiError: /);
    assert.doesNotMatch(failed.last_error ?? '', /@/, 'the recorded error holds no address');
    // Out of the way of the other tests: past the attempt limit, it is left for an operator.
    await postgres.sql`UPDATE notifications.outbox SET attempts = ${maxDeliveryAttempts} WHERE id = ${bad}`;
  });

  test('when nothing can be delivered the activity fails, so the retry policy paces the next attempt', async () => {
    const id = await enqueue(newMessage());
    const broken: NotificationSink = {
      name: 'broken',
      async deliver() {
        throw new Error('ENOSPC: no space left on device');
      },
    };
    const activities = createNotificationActivities({ db: postgres.db, config, logger: quiet, sink: broken });
    await assert.rejects(activityEnvironment().run(activities.deliverNotifications, { batchSize: 500, idleWaitMs: 0 }), /could be delivered/);
    const failed = await row(id);
    assert.equal(failed.delivered_at, null);
    assert.equal(failed.attempts, 1);
    assert.equal(failed.last_error, 'Error: ENOSPC: no space left on device');
    assert.ok(failed.recipient_enc, 'still queued for the next attempt');
    await drainUntilDone(fileSink(scratch('recovered')), [id]);
    assert.equal((await row(id)).attempts, 2);
  });
});

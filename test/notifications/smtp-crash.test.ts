/**
 * A worker killed after the mail server has the message and before the worker recorded it as sent.
 *
 * What this proves, plainly: SMTP has no idempotency key, so the restarted worker sends the message a
 * second time: the server sees two SMTP transactions. Both carry the same Message-ID (and Date), which
 * is what mail providers and clients collapse on, so the mailbox holds one message. The test counts
 * both facts; it fails if the message is lost (never resent), sent a third time, or resent under
 * another Message-ID.
 *
 * The server holds its reply until the worker is dead: the message is whole on the server side (the
 * mailbox has it) and the worker's row is `sending`, which is the state a worker killed just after a
 * 250 reply would leave too, since `sent` is committed only after the reply.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { insertAccount } from '../../identity/accounts';
import { notificationOutbox } from '../../db/schema/notifications';
import { messageIdFor } from '../../notifications/delivery';
import { enqueueOrderEvent } from '../../notifications/order-events';
import type { Config } from '../../platform/config';
import { connectPostgres, type Postgres } from '../../platform/postgres';
import { freePort, testConfig, waitFor } from '../support/stack';
import { startTestSmtpServer, type TestSmtpServer } from './smtp-server';

const leaseMs = 3_000;

/** The identity worker (it runs notification delivery) as its own process, with this test's mail settings. */
async function spawnIdentityWorker(config: Config, env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../workers/identity.ts', import.meta.url))], {
    env: { ...process.env, ...env, TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX, WORKER_METRICS_PORT: String(await freePort()), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor(async () => output.includes('workers running') || child.exitCode !== null, { what: 'the worker to start', timeoutMs: 60_000 });
  if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output}`);
  return { child, output: () => output };
}

describe('a worker killed after the SMTP server accepted the message', () => {
  let smtp: TestSmtpServer;
  let config: Config;
  let postgres: Postgres;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  before(async () => {
    smtp = await startTestSmtpServer();
    env = { NOTIFICATION_SINK: 'smtp', SMTP_URL: smtp.url, SMTP_FROM: 'Comptoir <orders@shop.example>', NOTIFICATION_SEND_LEASE_MS: String(leaseMs), NOTIFICATION_RETRY_BASE_MS: '500' };
    config = testConfig('notification-crash', env);
    postgres = connectPostgres(config.DATABASE_URL, { max: 2, applicationName: 'comptoir-test' });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await postgres?.close();
    await smtp?.stop();
  });

  test('the restarted worker sends it again under the same Message-ID: two SMTP transactions, one message in the mailbox', async () => {
    const email = `crash-${randomUUID()}@example.com`;
    const accountId = await insertAccount(postgres.db, config, { email, role: 'customer', emailVerified: true, language: 'fr' });
    const orderId = randomUUID();
    const held = smtp.holdNext(email);

    const first = await spawnIdentityWorker(config, env);
    children.push(first.child);
    await postgres.db.transaction((tx) =>
      enqueueOrderEvent(tx, config, { orderId, accountId, event: 'order_confirmed', data: { totalAmount: 2590, currency: 'EUR' }, dedupeKey: `order_confirmed:${orderId}` }),
    );

    const arrived = await Promise.race([held.arrived, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the message never reached the server')), 60_000))]);
    assert.equal(arrived.subject, 'Votre commande est confirmée');
    // The server has the whole message; the worker is waiting for the reply. Kill it now.
    first.child.kill('SIGKILL');
    await waitFor(async () => first.child.exitCode !== null || first.child.signalCode !== null, { what: 'the worker to die' });
    held.release();

    const [event] = await postgres.db.select().from(notificationOutbox).where(eq(notificationOutbox.dedupeKey, `order_confirmed:${orderId}`));
    const messageRow = async () => (await postgres.db.select().from(notificationOutbox).where(eq(notificationOutbox.parentId, event!.id))).find((row) => row.channel === 'email')!;
    const stranded = await messageRow();
    assert.equal(stranded.state, 'sending', 'committed as sending before the SMTP call, never recorded as sent');
    assert.equal(stranded.attempts, 1);

    const second = await spawnIdentityWorker(config, env);
    children.push(second.child);
    const sent = await waitFor(async () => {
      const row = await messageRow();
      return row.state === 'sent' ? row : undefined;
    }, { what: 'the message sent by the restarted worker', timeoutMs: 90_000 });
    // Time for a wrong third attempt to show up, were there one.
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 1_000));

    const transactions = smtp.transactions.filter((message) => message.to.includes(email));
    const expectedId = messageIdFor(sent, config.SMTP_FROM);
    console.log(`[smtp-crash] SMTP transactions for the message: ${transactions.length}; distinct Message-IDs: ${new Set(transactions.map((m) => m.messageId)).size}`);
    assert.equal(transactions.length, 2, 'SMTP has no idempotency: the killed send, then one resend');
    assert.deepEqual(transactions.map((message) => message.messageId), [expectedId, expectedId], 'both under the Message-ID derived from the row');
    assert.equal(transactions[0]!.date?.getTime(), transactions[1]!.date?.getTime(), 'and the same Date');
    assert.equal(smtp.mailbox(email).length, 1, 'one message per Message-ID reaches the mailbox');
    assert.equal(sent.attempts, 2);
    assert.equal(sent.messageId, expectedId);
    assert.equal(sent.recipientEnc, null);
    assert.match(second.output(), /sending again a message whose sender died mid-send/, 'the resend is logged as such');
    assert.ok(!second.output().includes(email), 'and the log does not hold the address');
  });
});

/**
 * Delivery of order events against a real SMTP server (in this process) and real Postgres: one email
 * per event and recipient in the customer's language, the in-app message, preferences, backoff,
 * dead letters. The delivery step is called directly here; the HTTP and worker paths have their own
 * tests (order-notifications.test.ts, smtp-crash.test.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { insertAccount } from '../../identity/accounts';
import { enqueueNotification, maxDeliveryAttempts } from '../../db/notifications';
import { inAppMessages, notificationOutbox } from '../../db/schema/notifications';
import { deliverPendingNotifications, messageIdFor, type NotificationDeliveryDeps } from '../../notifications/delivery';
import { enqueueOrderEvent, type NewOrderEvent, type OrderEvent } from '../../notifications/order-events';
import { updatePreferences } from '../../notifications/preferences';
import { smtpSink } from '../../notifications/sinks';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { connectPostgres, type Postgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';
import { startTestSmtpServer, type TestSmtpServer } from './smtp-server';

const retryBaseMs = 400;

describe('order notifications delivered over SMTP', () => {
  let smtp: TestSmtpServer;
  let config: Config;
  let postgres: Postgres;
  let deps: NotificationDeliveryDeps;

  before(async () => {
    smtp = await startTestSmtpServer();
    config = testConfig('notification-delivery', {
      NOTIFICATION_SINK: 'smtp',
      SMTP_URL: smtp.url,
      SMTP_FROM: 'Comptoir <orders@shop.example>',
      NOTIFICATION_RETRY_BASE_MS: String(retryBaseMs),
      PUBLIC_URL: 'https://shop.example',
    });
    postgres = connectPostgres(config.DATABASE_URL, { max: 3, applicationName: 'comptoir-test' });
    deps = { db: postgres.db, config, sink: smtpSink(config), logger: createLogger({ level: 'silent', name: 'delivery-test' }) };
  });
  after(async () => {
    await deps?.sink.close?.();
    await postgres?.close();
    await smtp?.stop();
  });

  async function customer(language: string | null) {
    const email = `buyer-${randomUUID()}@example.com`;
    const accountId = await insertAccount(postgres.db, config, { email, role: 'customer', emailVerified: true, language });
    return { email, accountId };
  }

  const enqueue = <E extends OrderEvent>(event: NewOrderEvent<E>) => postgres.db.transaction((tx) => enqueueOrderEvent(tx, config, event));

  /** The messages an event expanded into, by channel. */
  async function messagesOf(dedupeKey: string) {
    const [event] = await postgres.db.select().from(notificationOutbox).where(eq(notificationOutbox.dedupeKey, dedupeKey));
    assert.ok(event, `no event ${dedupeKey}`);
    const children = await postgres.db.select().from(notificationOutbox).where(eq(notificationOutbox.parentId, event.id));
    return { event, email: children.find((row) => row.channel === 'email'), inApp: children.find((row) => row.channel === 'in_app'), count: children.length };
  }

  /** Drains until `done` holds (rows of other test files may be in the queue too). */
  async function drainUntil(done: () => Promise<boolean>, rounds = 40) {
    for (let round = 0; round < rounds; round++) {
      if (await done()) return;
      await deliverPendingNotifications(deps, 100);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail('delivery did not get there');
  }

  test('an order event becomes one email in the customer\'s language and one in-app message; queued twice and drained again, still one', async () => {
    const fr = await customer('fr-FR');
    const en = await customer(null);
    const orderFr = randomUUID();
    const orderEn = randomUUID();
    const shipped = (accountId: string, orderId: string) =>
      ({ orderId, accountId, event: 'order_shipped', data: { shipmentId: 'S1', trackingNumber: 'TRK<1>&"2"', carrier: 'Sandbox Carrier', trackingUrl: 'https://track.example/?n=1&x=2' }, dedupeKey: `order_shipped:${orderId}:S1` }) as const;
    assert.equal(await enqueue(shipped(fr.accountId, orderFr)), true);
    assert.equal(await enqueue(shipped(fr.accountId, orderFr)), false, 'the same cause is queued once');
    assert.equal(await enqueue(shipped(en.accountId, orderEn)), true);

    await drainUntil(async () => (await messagesOf(`order_shipped:${orderFr}:S1`)).email?.state === 'sent' && (await messagesOf(`order_shipped:${orderEn}:S1`)).email?.state === 'sent');
    for (let i = 0; i < 3; i++) await deliverPendingNotifications(deps, 100);

    const [french] = smtp.mailbox(fr.email);
    assert.equal(smtp.transactions.filter((m) => m.to.includes(fr.email)).length, 1, 'one SMTP transaction for the French customer');
    assert.equal(french!.subject, 'Votre commande est en route');
    assert.equal(french!.language, 'fr');
    assert.match(french!.text, /Numéro de suivi : TRK<1>&"2"/);
    assert.match(french!.text, new RegExp(`https://shop\\.example/account/orders/${orderFr}`));
    // Escaped in the HTML, the link's query string too.
    assert.match(french!.html, /TRK&lt;1&gt;&amp;&quot;2&quot;/);
    assert.doesNotMatch(french!.html, /TRK<1>/);
    assert.match(french!.html, /href="https:\/\/track\.example\/\?n=1&amp;x=2"/);

    const [english] = smtp.mailbox(en.email);
    assert.equal(smtp.transactions.filter((m) => m.to.includes(en.email)).length, 1);
    assert.equal(english!.subject, 'Your order is on its way', 'no language: English');
    assert.equal(english!.language, 'en');

    const frRows = await messagesOf(`order_shipped:${orderFr}:S1`);
    assert.equal(frRows.count, 2, 'one message per channel');
    assert.equal(frRows.event.state, 'expanded');
    assert.equal(frRows.email!.attempts, 1);
    assert.equal(frRows.email!.recipientEnc, null, 'the address is wiped once sent');
    assert.equal(french!.messageId, messageIdFor(frRows.email!, config.SMTP_FROM), 'the Message-ID is the one derived from the row');
    assert.equal(frRows.email!.messageId, french!.messageId, 'and recorded on the row for operators');
    assert.equal(french!.date?.toISOString(), new Date(Math.floor(frRows.email!.createdAt.getTime() / 1000) * 1000).toISOString(), 'Date: when the event was queued');
    const inApp = await postgres.db.select().from(inAppMessages).where(eq(inAppMessages.orderId, orderFr));
    assert.equal(inApp.length, 1);
    assert.equal(inApp[0]!.subject, 'Votre commande est en route');
    assert.equal(inApp[0]!.accountId, fr.accountId);
  });

  test('a channel switched off is not sent, and the skip is recorded; account mail is not affected by preferences', async () => {
    const quiet = await customer('en');
    await updatePreferences(postgres.db, quiet.accountId, { order_updates: { email: false }, returns_and_refunds: { in_app: false } });
    const orderId = randomUUID();
    await enqueue({ orderId, accountId: quiet.accountId, event: 'order_delivered', data: { returnWindowEndsAt: '2026-12-31T10:00:00Z' }, dedupeKey: `order_delivered:${orderId}` });
    await enqueue({ orderId, accountId: quiet.accountId, event: 'refund_issued', data: { refundId: 'r1', amount: 1250, currency: 'EUR' }, dedupeKey: `refund_issued:r1:${orderId}` });
    await drainUntil(async () => (await messagesOf(`order_delivered:${orderId}`)).count === 2 && (await messagesOf(`refund_issued:r1:${orderId}`)).email?.state === 'sent');

    const delivered = await messagesOf(`order_delivered:${orderId}`);
    assert.equal(delivered.email!.state, 'skipped');
    assert.equal(delivered.email!.lastError, 'skipped: email switched off');
    assert.equal(delivered.email!.recipientEnc, null, 'nothing to send is kept');
    assert.equal(delivered.inApp!.state, 'sent', 'in-app is still on for order updates');
    const refund = await messagesOf(`refund_issued:r1:${orderId}`);
    assert.equal(refund.inApp!.state, 'skipped');
    assert.equal(refund.inApp!.lastError, 'skipped: in-app switched off');
    const inApp = await postgres.db.select().from(inAppMessages).where(eq(inAppMessages.orderId, orderId));
    assert.deepEqual(inApp.map((m) => m.event), ['order_delivered']);
    assert.deepEqual(smtp.mailbox(quiet.email).map((m) => m.subject), ['Your refund of €12.50'], 'only the refund email: order updates by email are off');

    // Every category off by email: a password reset still goes (it is not a category).
    await updatePreferences(postgres.db, quiet.accountId, { returns_and_refunds: { email: false } });
    const resetId = await postgres.db.transaction((tx) =>
      enqueueNotification(tx, config, { accountId: quiet.accountId, template: 'reset_password', recipient: quiet.email, payload: { token: 'cpr_test', language: 'en' } }),
    );
    await drainUntil(async () => (await postgres.db.select().from(notificationOutbox).where(eq(notificationOutbox.id, resetId)))[0]!.state === 'sent');
    assert.deepEqual(smtp.mailbox(quiet.email).map((m) => m.subject), ['Your refund of €12.50', 'Reset your password']);
  });

  test('the mail server refuses twice (451), then accepts: retried with a growing delay, one message arrives', async () => {
    const buyer = await customer('fr');
    const orderId = randomUUID();
    smtp.refuseNext(2, 451, buyer.email);
    await enqueue({ orderId, accountId: buyer.accountId, event: 'order_confirmed', data: { totalAmount: 123456, currency: 'EUR' }, dedupeKey: `order_confirmed:${orderId}` });
    const delays: number[] = [];
    let seenAttempts = 0;
    for (let round = 0; round < 80; round++) {
      await deliverPendingNotifications(deps, 100);
      const email = (await messagesOf(`order_confirmed:${orderId}`)).email;
      if (email && email.attempts > seenAttempts && email.state === 'pending') {
        seenAttempts = email.attempts;
        const [{ delay }] = (await postgres.db.execute<{ delay: number }>(sql`SELECT (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS delay FROM notifications.outbox WHERE id = ${email.id}`)) as unknown as [{ delay: number }];
        delays.push(delay);
        // Not before its time: an immediate drain does not touch it.
        const sent = smtp.transactions.filter((m) => m.to.includes(buyer.email)).length;
        await deliverPendingNotifications(deps, 100);
        assert.equal(smtp.transactions.filter((m) => m.to.includes(buyer.email)).length, sent, 'no attempt before the backoff has passed');
      }
      if (email?.state === 'sent') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const email = (await messagesOf(`order_confirmed:${orderId}`)).email!;
    assert.equal(email.state, 'sent');
    assert.equal(email.attempts, 3);
    assert.equal(delays.length, 2);
    assert.ok(delays[0]! > retryBaseMs * 0.5 && delays[0]! <= retryBaseMs, `first delay ${delays[0]} ≈ ${retryBaseMs} ms`);
    assert.ok(delays[1]! > retryBaseMs * 1.5 && delays[1]! <= retryBaseMs * 2, `second delay ${delays[1]} ≈ ${2 * retryBaseMs} ms: it grows`);
    const transactions = smtp.transactions.filter((m) => m.to.includes(buyer.email));
    assert.equal(transactions.length, 3, 'two refused, one accepted');
    assert.equal(new Set(transactions.map((m) => m.messageId)).size, 1, 'every attempt carries the same Message-ID');
    const mailbox = smtp.mailbox(buyer.email);
    assert.equal(mailbox.length, 1);
    assert.equal(mailbox[0]!.subject, 'Votre commande est confirmée');
    assert.match(mailbox[0]!.text, /1\s?234,56\s?€/);
  });

  test('a permanent refusal (550) is dead at once; a transient one on the last attempt too; the error holds no address', async () => {
    const buyer = await customer(null);
    const first = randomUUID();
    smtp.refuseNext(1, 550, buyer.email);
    await enqueue({ orderId: first, accountId: buyer.accountId, event: 'order_cancelled', data: {}, dedupeKey: `order_cancelled:${first}` });
    await drainUntil(async () => ['dead', 'sent'].includes((await messagesOf(`order_cancelled:${first}`)).email?.state ?? ''));
    const dead = (await messagesOf(`order_cancelled:${first}`)).email!;
    assert.equal(dead.state, 'dead');
    assert.equal(dead.attempts, 1);
    assert.equal(dead.lastError, 'PermanentDeliveryError: SMTP 550 at DATA');
    assert.ok(dead.recipientEnc, 'kept, so an operator can send it again once the cause is fixed');

    const second = randomUUID();
    smtp.refuseNext(1, 451, buyer.email);
    await enqueue({ orderId: second, accountId: buyer.accountId, event: 'order_failed', data: {}, dedupeKey: `order_failed:${second}` });
    await drainUntil(async () => ((await messagesOf(`order_failed:${second}`)).email?.attempts ?? 0) >= 1);
    const row = (await messagesOf(`order_failed:${second}`)).email!;
    assert.equal(row.state, 'pending', 'a 451 is worth another attempt');
    // Nine attempts later, as if: the next one is the last.
    await postgres.db.update(notificationOutbox).set({ attempts: maxDeliveryAttempts - 1, nextAttemptAt: sql`now()` }).where(eq(notificationOutbox.id, row.id));
    smtp.refuseNext(1, 451, buyer.email);
    await drainUntil(async () => (await messagesOf(`order_failed:${second}`)).email!.state !== 'pending');
    const last = (await messagesOf(`order_failed:${second}`)).email!;
    assert.equal(last.state, 'dead');
    assert.equal(last.attempts, maxDeliveryAttempts);
    assert.equal(last.lastError, 'TransientDeliveryError: SMTP 451 at DATA');
    assert.doesNotMatch(last.lastError ?? '', /@/);
    assert.equal(smtp.mailbox(buyer.email).length, 0, 'nothing reached the buyer');
  });
});

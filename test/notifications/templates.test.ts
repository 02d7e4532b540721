import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maxDeliveryAttempts, retryDelayMs } from '../../db/notifications';
import { messageIdFor, senderDomain } from '../../notifications/delivery';
import { enqueueOrderEvent, orderEventData, orderEvents, type OrderEvent } from '../../notifications/order-events';
import { escapeHtml, renderNotification } from '../../notifications/templates';
import type { NotificationPayload } from '../../db/notifications';
import { loadConfig, type Config } from '../../platform/config';

const base = 'https://shop.example';
const orderId = '0b9f7c52-3a52-4c8e-9c7f-0d6a4c1e2f3a';

/** A complete payload for each event: every optional fact given, so every branch of the words renders. */
const full: Record<OrderEvent, NotificationPayload> = {
  order_confirmed: { totalAmount: 4990, currency: 'EUR' },
  order_shipped: { shipmentId: 's1', trackingNumber: 'TRK123', carrier: 'Colis Rapide', trackingUrl: 'https://track.example/TRK123' },
  order_out_for_delivery: { shipmentId: 's1', trackingNumber: 'TRK123' },
  order_delivered: { shipmentId: 's1', returnWindowEndsAt: '2026-12-24T23:00:00Z' },
  shipment_exception: { shipmentId: 's1', trackingNumber: 'TRK123' },
  return_authorised: { returnId: 'r1', labelUrl: 'https://labels.example/r1.pdf', returnBy: '2026-12-10T00:00:00Z' },
  return_received: { returnId: 'r1' },
  refund_issued: { refundId: 'f1', amount: 1999, currency: 'EUR', returnId: 'r1' },
  order_cancelled: {},
  order_failed: {},
};

describe('order message templates', () => {
  for (const event of orderEvents) {
    test(`${event}: French and English, subject, text and HTML, the data its event accepts`, () => {
      assert.doesNotThrow(() => orderEventData[event].parse(full[event]), 'the sample is what the event accepts');
      const fr = renderNotification(event, { ...full[event], orderId, language: 'fr-BE' }, base);
      const en = renderNotification(event, { ...full[event], orderId, language: 'en-GB' }, base);
      assert.notEqual(fr.subject, en.subject, 'a French subject');
      assert.notEqual(fr.text, en.text);
      for (const message of [fr, en]) {
        assert.ok(message.subject.length > 5);
        assert.ok(message.text.includes(`${base}/account/orders/${orderId}`), 'links to the order');
        assert.ok(message.html.includes(`href="${base}/account/orders/${orderId}"`));
        assert.match(message.html, /^<!DOCTYPE html>/);
      }
      assert.match(fr.html, /<html lang="fr">/);
      assert.match(en.html, /<html lang="en">/);
      // The same words in both bodies: the HTML, tags removed and entities decoded, says what the text says.
      const htmlWords = fr.html.replace(/<title>.*<\/title>/, '').replace(/<[^>]+>/g, '').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
      assert.equal(htmlWords, fr.text.replace(/\s+/g, ' ').trim());
    });
  }

  test('money in the currency\'s own units and the reader\'s conventions', () => {
    const fr = renderNotification('refund_issued', { orderId, refundId: 'f', amount: 123456, currency: 'EUR', language: 'fr' }, base);
    assert.match(fr.subject, /1\s?234,56\s?€/);
    const yen = renderNotification('refund_issued', { orderId, refundId: 'f', amount: 1500, currency: 'JPY', language: 'en' }, base);
    assert.match(yen.subject, /¥1,500/, 'JPY has no minor unit');
    assert.match(renderNotification('order_delivered', { orderId, returnWindowEndsAt: '2026-12-24T23:30:00Z', language: 'fr' }, base).text, /24 décembre 2026/);
  });

  test('values are escaped in HTML; a link that is not a web address is not made a link', () => {
    const message = renderNotification('order_shipped', { orderId, trackingNumber: '<img src=x onerror=alert(1)>', carrier: 'A & B "Express"', trackingUrl: 'javascript:alert(1)', language: 'en' }, base);
    assert.ok(!message.html.includes('<img'));
    assert.ok(message.html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(message.html.includes('A &amp; B &quot;Express&quot;'));
    assert.ok(!message.html.includes('javascript:'), 'no javascript: link');
    assert.ok(!message.text.includes('javascript:'));
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  test('a message without the facts it needs refuses to render (a bug, not a message with blanks)', () => {
    assert.throws(() => renderNotification('refund_issued', { orderId, language: 'en' }, base), /needs the amount and currency/);
    assert.throws(() => renderNotification('order_shipped', { language: 'en' }, base), /needs the order id/);
  });
});

describe('order events are checked when queued', () => {
  const config = {} as Pick<Config, 'pii'>;
  // Refused before any statement is run: the transaction is never touched.
  const noTransaction = undefined as never;
  const event = (name: OrderEvent, data: Record<string, unknown>) => enqueueOrderEvent(noTransaction, config, { orderId, accountId: orderId, event: name, data: data as never, dedupeKey: 'k' });

  test('bad data fails the caller, naming the field', async () => {
    await assert.rejects(event('refund_issued', { refundId: 'f', amount: 12.5, currency: 'EUR' }), /amount/);
    await assert.rejects(event('refund_issued', { refundId: 'f', amount: 1250, currency: 'euro' }), /currency/);
    await assert.rejects(event('order_shipped', { trackingUrl: 'javascript:alert(1)' }), /trackingUrl/);
    await assert.rejects(event('return_authorised', {}), /returnId/);
    await assert.rejects(event('not_an_event' as OrderEvent, {}), /unknown order event/);
  });
});

describe('delivery arithmetic', () => {
  test('backoff doubles from the base and is capped at 6 hours', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, 30_000)), [30_000, 60_000, 120_000, 240_000]);
    assert.equal(retryDelayMs(maxDeliveryAttempts, 30_000), 15_360_000, 'the last wait, about 4 h 16 min');
    assert.equal(retryDelayMs(30, 30_000), 6 * 3_600_000);
  });

  test('a Message-ID is a pure function of the row, in the sender\'s domain', () => {
    const row = { id: 42, createdAt: new Date('2026-11-25T10:00:00.123Z'), dedupeKey: '7:email:acc' };
    const id = messageIdFor(row, 'Comptoir <orders@Shop.Example>');
    assert.equal(id, messageIdFor({ ...row }, 'Comptoir <orders@Shop.Example>'), 'the same on every attempt');
    assert.match(id, /^<notification\.42\.[A-Za-z0-9_-]{16}@shop\.example>$/);
    assert.ok(!id.includes('acc'), 'the account id stays out of the header');
    assert.notEqual(id, messageIdFor({ ...row, createdAt: new Date('2026-11-25T10:00:00.124Z') }, 'orders@shop.example'), 'another database, another id');
    assert.equal(senderDomain('no-reply@comptoir.localhost'), 'comptoir.localhost');
  });
});

describe('mail configuration', () => {
  const secrets = { PII_KEYS: `v1:${Buffer.alloc(32, 1).toString('base64')}`, PII_LOOKUP_KEY: Buffer.alloc(32, 3).toString('base64'), WEBHOOK_SIGNING_SECRET: 's'.repeat(40) };
  test('the smtp sink needs an smtp(s) URL; the password in it never shows in an error', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'smtp', ...secrets }), /NOTIFICATION_SINK=smtp needs SMTP_URL/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'smtp', SMTP_URL: 'https://user:hunter2@mail.example', ...secrets }), (error: Error) => /SMTP_URL/.test(error.message) && !error.message.includes('hunter2'));
    const ok = loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'smtp', SMTP_URL: 'smtps://user:pw@mail.example:465', SMTP_FROM: 'Shop <orders@shop.example>', ...secrets });
    assert.equal(ok.NOTIFICATION_SEND_LEASE_MS, 120_000);
    assert.equal(ok.NOTIFICATION_RETRY_BASE_MS, 30_000);
  });
});

/**
 * Order notifications end to end: HTTP API, running workers, the sandbox payment provider, a real SMTP
 * server in this process. Real checkouts change the order's status; the customer gets one email in
 * their language and an in-app message on the order's event stream, or nothing on a channel they
 * switched off (recorded as skipped).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { setOrderStatus } from '../../db/orders';
import { notificationOutbox } from '../../db/schema/notifications';
import { ensureNotificationDelivery } from '../../workers/notification-delivery';
import { notificationDeliveryWorkflowId } from '../../workflows/identity/notificationDelivery';
import { json } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { startTestSmtpServer, type TestSmtpServer } from './smtp-server';

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = `NO-${run}-MUG`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

type Frame = { event: string; data: string };
type InApp = { id: number; orderId: string; event: string; subject: string; body: string; at: string };

/** Reads the order's SSE stream until `until` returns true for the frames so far, or the stream ends. */
async function readStream(url: string, headers: Record<string, string>, until: (frames: Frame[]) => boolean, timeoutMs = 60_000): Promise<{ frames: Frame[]; ended: boolean }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const frames: Frame[] = [];
  try {
    const response = await fetch(url, { headers, signal: controller.signal });
    assert.equal(response.status, 200);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
        frames.push({ event, data });
      }
      if (until(frames)) return { frames, ended: false };
    }
    return { frames, ended: true };
  } catch (error) {
    if (controller.signal.aborted) return { frames, ended: false };
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

describe('order notifications over HTTP with running workers', () => {
  let psp: SandboxProvider;
  let smtp: TestSmtpServer;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let config: ReturnType<typeof testConfig>;

  before(async () => {
    smtp = await startTestSmtpServer();
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    config = testConfig('order-notifications', {
      API_PORT: String(apiPort),
      WEBHOOK_SIGNING_SECRET: webhookSecret,
      PAYMENT_PROVIDER_URL: psp.baseUrl,
      PAYMENT_PROVIDER_API_KEY: psp.apiKey,
      NOTIFICATION_SINK: 'smtp',
      SMTP_URL: smtp.url,
      SMTP_FROM: 'Comptoir <orders@shop.example>',
      PUBLIC_URL: 'https://shop.example',
      // Other suites on this machine may hold the default metrics port.
      WORKER_METRICS_PORT: String(await freePort()),
    });
    api = await startApi(config);
    worker = await startWorker(config);
    await ensureNotificationDelivery(worker.context, { batchSize: 20, idleWaitMs: 1_000 });
    await upsertProduct(api.deps.db, {
      slug: `notified-mug-${run.toLowerCase()}`,
      title: 'Mug',
      description: '',
      status: 'published',
      attributes: {},
      categories: [],
      variants: [{ sku, title: 'Mug', options: {}, prices: [{ currency: 'EUR', amount: 1500 }] }],
    });
    await setStockLevels(api.deps.db, [{ sku, location: 'paris', onHand: 100 }]);
  });

  after(async () => {
    await api?.deps.temporal.client.workflow.getHandle(notificationDeliveryWorkflowId(config.TASK_QUEUE_PREFIX)).terminate('test over').catch(() => {});
    await worker?.stop();
    await api?.stop();
    await psp?.stop();
    await smtp?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  async function customer(language: string | null): Promise<SignedIn> {
    const signed = await signedInAs(config, 'customer');
    if (language) await json(await send('PATCH', '/v1/me', { language }, signed.headers), 200);
    return signed;
  }

  /** A real checkout of one mug; resolves with the order id once it reached one of `statuses`. */
  async function order(buyer: SignedIn, card: string, statuses: string[]): Promise<{ orderId: string; status: string }> {
    const opened = await send('POST', '/v1/carts', { currency: 'EUR' }, buyer.headers);
    const cart = await json<{ id: string }>(opened, opened.status === 200 ? 200 : 201);
    await json(await send('PUT', `/v1/carts/${cart.id}/lines/${sku}`, { quantity: 1 }, buyer.headers), 200);
    const paymentToken = await psp.tokenise(card);
    const placed = await json<{ orderId: string }>(
      await send('POST', '/v1/checkout', { cartId: cart.id, shippingAddress: address, shippingMethod: 'standard', paymentToken }, { ...buyer.headers, 'idempotency-key': randomUUID() }),
      201,
    );
    return waitFor(async () => {
      const current = await json<{ status: string }>(await fetch(url(`/v1/orders/${placed.orderId}`), { headers: buyer.headers }), 200);
      return statuses.includes(current.status) ? { orderId: placed.orderId, status: current.status } : undefined;
    }, { what: `order to reach ${statuses.join('/')}`, timeoutMs: 90_000 });
  }

  async function messagesOf(dedupeKey: string) {
    const [event] = await api.deps.db.select().from(notificationOutbox).where(eq(notificationOutbox.dedupeKey, dedupeKey));
    if (!event) return undefined;
    const children = await api.deps.db.select().from(notificationOutbox).where(eq(notificationOutbox.parentId, event.id));
    return { event, email: children.find((row) => row.channel === 'email'), inApp: children.find((row) => row.channel === 'in_app') };
  }

  const notificationFrames = (frames: Frame[]) => frames.filter((frame) => frame.event === 'notification').map((frame) => JSON.parse(frame.data) as InApp);

  test('a confirmed order: one email in French for a French customer, one in English for another, and the in-app message on the order\'s stream', async () => {
    const french = await customer('fr-FR');
    const english = await customer('en-GB');
    const [frOrder, enOrder] = await Promise.all([order(french, testCards.success, ['CONFIRMED', 'FAILED', 'CANCELLED']), order(english, testCards.success, ['CONFIRMED', 'FAILED', 'CANCELLED'])]);
    assert.equal(frOrder.status, 'CONFIRMED');
    assert.equal(enOrder.status, 'CONFIRMED');

    const frMail = await waitFor(async () => smtp.mailbox(french.email)[0], { what: 'the French confirmation email' });
    const enMail = await waitFor(async () => smtp.mailbox(english.email)[0], { what: 'the English confirmation email' });
    assert.equal(frMail.subject, 'Votre commande est confirmée');
    assert.match(frMail.text, /19,90\s?€/, 'the total (15.00 + 4.90 shipping) in euros, French style');
    assert.match(frMail.text, new RegExp(`https://shop\\.example/account/orders/${frOrder.orderId}`));
    assert.equal(enMail.subject, 'Your order is confirmed');
    assert.match(enMail.text, /€19\.90/);

    // The stream shows the status and then the in-app message, in the customer's language.
    const stream = await readStream(url(`/v1/orders/${frOrder.orderId}/events`), french.headers, (frames) => notificationFrames(frames).length > 0);
    assert.ok(stream.frames.some((frame) => frame.event === 'status' && JSON.parse(frame.data).status === 'CONFIRMED'));
    const [inApp] = notificationFrames(stream.frames);
    assert.equal(inApp!.event, 'order_confirmed');
    assert.equal(inApp!.orderId, frOrder.orderId);
    assert.equal(inApp!.subject, 'Votre commande est confirmée');
    const listed = await json<{ messages: InApp[] }>(await fetch(url('/v1/me/notifications'), { headers: english.headers }), 200);
    assert.deepEqual(listed.messages.map((m) => [m.event, m.orderId, m.subject]), [['order_confirmed', enOrder.orderId, 'Your order is confirmed']]);

    // Once: the status queued the event, the saga's own confirmation step found it queued; a few more drains send nothing more.
    const rows = (await messagesOf(`order_confirmed:${frOrder.orderId}`))!;
    assert.equal(rows.event.channel, 'event');
    await waitFor(async () => (await api.deps.db.select().from(notificationOutbox).where(eq(notificationOutbox.id, rows.email!.id)))[0]!.state === 'sent', { what: 'sent recorded' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const buyer of [french, english]) assert.equal(smtp.transactions.filter((m) => m.to.includes(buyer.email)).length, 1, 'one SMTP transaction per customer');

    // The event is written by the status change's own transaction: rolled back together, nothing is queued.
    const rollback = new Error('rolled back');
    await assert.rejects(
      api.deps.db.transaction(async (tx) => {
        assert.equal(await setOrderStatus(tx, config, frOrder.orderId, 'CANCELLED', 'test: never committed'), true);
        const queued = await tx.select().from(notificationOutbox).where(eq(notificationOutbox.dedupeKey, `order_cancelled:${frOrder.orderId}`));
        assert.equal(queued.length, 1, 'queued inside the transaction');
        throw rollback;
      }),
      rollback,
    );
    assert.equal(await messagesOf(`order_cancelled:${frOrder.orderId}`), undefined, 'no event without its status');
  });

  test('a declined card: the order FAILS, the customer is told once, and the stream ends after the message', async () => {
    const buyer = await customer(null);
    const failed = await order(buyer, testCards.decline, ['FAILED', 'CANCELLED', 'CONFIRMED']);
    assert.equal(failed.status, 'FAILED');
    const stream = await readStream(url(`/v1/orders/${failed.orderId}/events`), buyer.headers, () => false);
    assert.equal(stream.ended, true, 'the stream ends with the order');
    const statuses = stream.frames.filter((frame) => frame.event === 'status').map((frame) => JSON.parse(frame.data).status as string);
    assert.equal(statuses.at(-1), 'FAILED');
    assert.deepEqual(notificationFrames(stream.frames).map((m) => m.event), ['order_failed'], 'the message announcing the end is on the stream before it closes');
    const mail = await waitFor(async () => smtp.mailbox(buyer.email)[0], { what: 'the failure email' });
    assert.equal(mail.subject, 'We could not complete your order');
    assert.doesNotMatch(mail.text, /declined/, 'the provider\'s reason is for staff');
  });

  test('a customer who switched order updates off gets no email and no in-app message; both are recorded as skipped', async () => {
    const quiet = await customer('fr');
    const put = await send('PUT', '/v1/me/notification-preferences', { order_updates: { email: false, in_app: false } }, quiet.headers);
    const preferences = await json<{ order_updates: { email: boolean; in_app: boolean }; returns_and_refunds: { email: boolean; in_app: boolean } }>(put, 200);
    assert.deepEqual(preferences.order_updates, { email: false, in_app: false });
    assert.deepEqual(preferences.returns_and_refunds, { email: true, in_app: true }, 'the other category is untouched');

    const confirmed = await order(quiet, testCards.success, ['CONFIRMED', 'FAILED', 'CANCELLED']);
    assert.equal(confirmed.status, 'CONFIRMED');
    const rows = await waitFor(async () => {
      const found = await messagesOf(`order_confirmed:${confirmed.orderId}`);
      return found?.email && found.inApp ? found : undefined;
    }, { what: 'the event expanded' });
    assert.equal(rows.email!.state, 'skipped');
    assert.equal(rows.email!.lastError, 'skipped: email switched off');
    assert.equal(rows.inApp!.state, 'skipped');
    assert.equal(rows.inApp!.lastError, 'skipped: in-app switched off');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(smtp.transactions.filter((m) => m.to.includes(quiet.email)).length, 0, 'nothing sent by email');
    const listed = await json<{ messages: InApp[] }>(await fetch(url('/v1/me/notifications'), { headers: quiet.headers }), 200);
    assert.deepEqual(listed.messages, [], 'nothing in the shop either');
  });
});

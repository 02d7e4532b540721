/**
 * The sandbox payment provider as a separate process over HTTP: test cards, its idempotency keys, the money
 * rules (capture once, void before capture only, refunds never beyond captured), signed webhooks with
 * retries and chaos, and no card data in its output.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { verifyWebhookSignature } from '../../payments/webhook-signature';
import type { SandboxSettings } from '../../sandbox/payment-provider/settings';
import { startSandboxProvider, startWebhookReceiver, testCards, type SandboxProvider } from '../support/sandbox-psp';

// Every assert.ok carries a message: without one, a failing assert.ok re-reads this (transpiled) file to
// describe itself, which hangs under tsx instead of failing.
type Answer = { status: number; body: Record<string, unknown> & { error?: { code: string; message: string } }; replayed: boolean };

async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the sandbox payment provider process', () => {
  let psp: SandboxProvider;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let defaults: SandboxSettings;

  before(async () => {
    receiver = await startWebhookReceiver();
    psp = await startSandboxProvider({ webhookUrl: receiver.url, env: { SANDBOX_PSP_WEBHOOK_RETRY_BASE_MS: '20' } });
    defaults = (await (await psp.request('/v1/test/settings')).json()) as SandboxSettings;
  });
  after(async () => {
    await psp?.stop();
    await receiver?.close();
  });
  afterEach(async () => {
    await psp.settings(defaults);
    receiver.reset();
  });

  async function post(path: string, body: unknown, key: string | undefined = randomUUID(), apiKey = psp.apiKey): Promise<Answer> {
    const response = await fetch(`${psp.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'], replayed: response.headers.get('idempotent-replayed') === 'true' };
  }
  const authorise = async (card: string, options: { amount?: number; orderId?: string; key?: string } = {}) =>
    post('/v1/payments', { token: await psp.tokenise(card), amount: options.amount ?? 2500, currency: 'EUR', orderId: options.orderId ?? `order-${randomUUID()}` }, options.key);
  const capturedPayment = async (amount: number) => {
    const auth = await authorise(testCards.success, { amount });
    assert.equal(auth.body.status, 'authorised');
    const id = auth.body.id as string;
    assert.equal((await post(`/v1/payments/${id}/capture`, { amount, currency: 'EUR' })).status, 200);
    return id;
  };

  test('tokenisation needs no secret key, returns an opaque token, brand and last four, and checks the card', async () => {
    const response = await fetch(`${psp.baseUrl}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://shop.example' },
      body: JSON.stringify({ number: '5555 5555 5555 4444', expMonth: 1, expYear: 2099, cvc: '1234' }),
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('access-control-allow-origin'), '*', 'the browser calls it directly');
    const card = (await response.json()) as Record<string, unknown>;
    assert.match(card.token as string, /^tok_[A-Za-z0-9_-]+$/);
    assert.equal(card.brand, 'mastercard');
    assert.equal(card.last4, '4444');
    assert.ok(!JSON.stringify(card).includes('5555555555554444'), 'the number is not echoed');

    const refused = async (body: unknown) => {
      const r = await post('/v1/tokens', body, undefined, 'none');
      assert.equal(r.status, 400, JSON.stringify(r.body));
      return r.body.error!;
    };
    const valid = { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' };
    assert.equal((await refused({ ...valid, number: '4242424242424241' })).code, 'invalid_card_number');
    assert.equal((await refused({ ...valid, number: 'abcd' })).code, 'invalid_card_number');
    assert.match((await refused({ ...valid, cvc: '12' })).message, /cvc/);
    assert.match((await refused({ ...valid, expMonth: 13 })).message, /expMonth/);
    assert.equal((await refused('{"number":"4242424242424242",')).code, 'invalid_json');
  });

  test('every route but tokenisation and the 3-D Secure page needs the secret key', async () => {
    const token = await psp.tokenise(testCards.success);
    const body = { token, amount: 100, currency: 'EUR', orderId: 'o-auth' };
    assert.equal((await post('/v1/payments', body, randomUUID(), 'sk_test_wrong')).status, 401);
    assert.equal((await post('/v1/payments', body, randomUUID(), '')).status, 401);
    for (const path of ['/v1/payments/pay_x', '/v1/test/payments?orderId=o-auth', '/v1/test/webhooks', '/v1/test/settings']) {
      assert.equal((await fetch(`${psp.baseUrl}${path}`)).status, 401, path);
    }
    assert.equal((await fetch(`${psp.baseUrl}/v1/test/chaos`, { method: 'POST', body: '{"outage":true}' })).status, 401);
    // And nothing was authorised by the refused calls.
    assert.deepEqual(await psp.paymentsOf('o-auth'), []);
    assert.equal((await post('/v1/payments', body)).status, 201, 'the right key works');
  });

  test('the success card authorises; the decline, insufficient-funds and expired cards decline with their reason', async () => {
    const ok = await authorise(testCards.success, { amount: 1999 });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.status, 'authorised');
    assert.match(ok.body.id as string, /^pay_/);
    assert.equal(ok.body.amount, 1999);

    const declined = await authorise(testCards.decline);
    assert.equal(declined.body.status, 'declined');
    assert.equal(declined.body.reason, 'card_declined');
    assert.equal((await authorise(testCards.insufficientFunds)).body.reason, 'insufficient_funds');

    const expiredToken = await psp.tokenise(testCards.success, { expMonth: 1, expYear: new Date().getUTCFullYear() - 1 });
    const expired = await post('/v1/payments', { token: expiredToken, amount: 100, currency: 'EUR', orderId: 'o-expired' });
    assert.equal(expired.body.status, 'declined');
    assert.equal(expired.body.reason, 'expired_card');

    const unknown = await post('/v1/payments', { token: 'tok_nope', amount: 100, currency: 'EUR', orderId: 'o-x' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error!.code, 'token_not_found');
    const invalid = await post('/v1/payments', { token: 'tok_nope', amount: 10.5, currency: 'eur', orderId: 'o-x' });
    assert.equal(invalid.status, 400);
    assert.equal((await post('/v1/payments', { token: 'tok_nope', amount: 1, currency: 'EUR', orderId: 'o' }, '')).body.error!.code, 'idempotency_key_required');
  });

  test('3-D Secure: requires_action with an action URL; the outcome comes when confirmed, and by signed webhook', async () => {
    const pending = await authorise(testCards.threeDSecure, { amount: 4200 });
    assert.equal(pending.body.status, 'requires_action');
    const id = pending.body.id as string;
    assert.equal(pending.body.action_url, `${psp.baseUrl}/3ds/${id}`);
    assert.equal((await post(`/v1/payments/${id}/capture`, { amount: 4200 })).body.error!.code, 'payment_not_authorised', 'not capturable yet');
    assert.deepEqual((await psp.payment(id)).events, [], 'no event before the outcome');

    // The page the shopper would see.
    const page = await fetch(pending.body.action_url as string);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /4200/);

    assert.equal((await psp.confirm(id, 'succeed')).status, 'authorised');
    const [delivery] = await eventually(() => receiver.of(id).length > 0 && receiver.of(id), 'the payment.authorised webhook');
    assert.equal(delivery!.event.type, 'payment.authorised');
    assert.equal(delivery!.event.data.amount, 4200);
    assert.equal(verifyWebhookSignature(psp.webhookSecret, delivery!.headers['comptoir-signature'] as string, delivery!.rawBody, new Date()).ok, true);
    assert.equal((await psp.request(`/v1/test/payments/${id}/confirm`, { body: { outcome: 'fail' } })).status, 409, 'decided once');

    const failing = await authorise(testCards.threeDSecure);
    const failed = await psp.confirm(failing.body.id as string, 'fail');
    assert.equal(failed.status, 'declined');
    assert.equal(failed.reason, 'authentication_failed');
    const [declined] = await eventually(() => receiver.of(failed.id).length > 0 && receiver.of(failed.id), 'the payment.declined webhook');
    assert.equal(declined!.event.type, 'payment.declined');

    // The action page confirms too (what a shopper does in a browser).
    const viaPage = await authorise(testCards.threeDSecure);
    const form = await fetch(viaPage.body.action_url as string, { method: 'POST', body: new URLSearchParams({ outcome: 'succeed' }) });
    assert.equal(form.status, 200);
    assert.equal((await psp.payment(viaPage.body.id as string)).status, 'authorised');
  });

  test('3-D Secure confirms by itself after the configured delay', async () => {
    await psp.settings({ threeDSecureDelayMs: 0 });
    const pending = await authorise(testCards.threeDSecure);
    assert.equal(pending.body.status, 'requires_action');
    const id = pending.body.id as string;
    await eventually(async () => (await psp.payment(id)).status === 'authorised', 'the automatic confirmation');
    const [delivery] = await eventually(() => receiver.of(id).length > 0 && receiver.of(id), 'its webhook');
    assert.equal(delivery!.event.type, 'payment.authorised');
  });

  test('the timeout card never authorises: 503 at once, or an answer that outlasts the client', async () => {
    await psp.settings({ timeoutCard: 'unavailable' });
    const orderId = `order-${randomUUID()}`;
    const key = randomUUID();
    const token = await psp.tokenise(testCards.timeout);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const answer = await post('/v1/payments', { token, amount: 700, currency: 'EUR', orderId }, key);
      assert.equal(answer.status, 503, `attempt ${attempt}`);
      assert.equal(answer.body.error!.code, 'provider_unavailable');
      assert.equal(answer.replayed, false, 'a 503 is not stored: each retry really tries');
    }

    await psp.settings({ timeoutCard: 'hang', hangMs: 120_000 });
    const hung = fetch(`${psp.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${psp.apiKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ token, amount: 700, currency: 'EUR', orderId }),
      signal: AbortSignal.timeout(300),
    });
    await assert.rejects(hung, { name: 'TimeoutError' });
    assert.deepEqual(await psp.paymentsOf(orderId), [], 'nothing was authorised');
  });

  test('the flaky card answers 503 to the first two attempts of a key, then authorises; the answer is then kept', async () => {
    const orderId = `order-${randomUUID()}`;
    const token = await psp.tokenise(testCards.flaky);
    const key = randomUUID();
    const attempt = () => post('/v1/payments', { token, amount: 900, currency: 'EUR', orderId }, key);
    assert.equal((await attempt()).status, 503);
    assert.equal((await attempt()).status, 503);
    const third = await attempt();
    assert.equal(third.status, 201);
    assert.equal(third.body.status, 'authorised');
    const fourth = await attempt();
    assert.equal(fourth.replayed, true);
    assert.deepEqual(fourth.body, third.body);
    assert.equal((await psp.paymentsOf(orderId)).length, 1);
    // Each key counts its own failures.
    assert.equal((await post('/v1/payments', { token, amount: 900, currency: 'EUR', orderId }, randomUUID())).status, 503);
  });

  test('idempotency keys: same key and parameters replay the first answer, other parameters or another route are refused', async () => {
    const token = await psp.tokenise(testCards.success);
    const orderId = `order-${randomUUID()}`;
    const key = randomUUID();
    const params = { token, amount: 1500, currency: 'EUR', orderId };
    const first = await post('/v1/payments', params, key);
    assert.equal(first.replayed, false);
    // Same parameters in another key order are the same request.
    const again = await post('/v1/payments', JSON.stringify({ orderId, currency: 'EUR', amount: 1500, token }), key);
    assert.equal(again.status, 201);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.body, first.body);

    const reused = await post('/v1/payments', { ...params, amount: 1501 }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error!.code, 'idempotency_key_reused');
    const otherRoute = await post(`/v1/payments/${first.body.id}/capture`, { amount: 1500 }, key);
    assert.equal(otherRoute.status, 422);
    assert.equal(otherRoute.body.error!.code, 'idempotency_key_reused');

    // Twenty concurrent duplicates: one payment, one answer.
    const concurrentKey = randomUUID();
    const concurrentOrder = `order-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/v1/payments', { token, amount: 800, currency: 'EUR', orderId: concurrentOrder }, concurrentKey)));
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
    assert.equal(answers.filter((a) => !a.replayed).length, 1);
    assert.equal((await psp.paymentsOf(concurrentOrder)).length, 1);
    assert.equal((await psp.paymentsOf(orderId)).length, 1);

    // Refusals are answers too: replayed, not re-decided.
    const declinedKey = randomUUID();
    const declineToken = await psp.tokenise(testCards.decline);
    const d1 = await post('/v1/payments', { token: declineToken, amount: 1, currency: 'EUR', orderId }, declinedKey);
    const d2 = await post('/v1/payments', { token: declineToken, amount: 1, currency: 'EUR', orderId }, declinedKey);
    assert.deepEqual(d2.body, d1.body);
    assert.equal(d2.replayed, true);
  });

  test('a payment is captured once, at most for the authorised amount, and only once authorised', async () => {
    const auth = await authorise(testCards.success, { amount: 5000 });
    const id = auth.body.id as string;
    const over = await post(`/v1/payments/${id}/capture`, { amount: 5001, currency: 'EUR' });
    assert.equal(over.status, 422);
    assert.equal(over.body.error!.code, 'amount_exceeds_authorised');
    assert.equal((await post(`/v1/payments/${id}/capture`, { amount: 5000, currency: 'USD' })).body.error!.code, 'currency_mismatch');

    const key = randomUUID();
    const captured = await post(`/v1/payments/${id}/capture`, { amount: 4000, currency: 'EUR' }, key);
    assert.equal(captured.status, 200);
    assert.equal(captured.body.status, 'captured');
    assert.equal(captured.body.amount, 4000);
    const replay = await post(`/v1/payments/${id}/capture`, { amount: 4000, currency: 'EUR' }, key);
    assert.deepEqual(replay.body, captured.body);
    assert.equal(replay.replayed, true);

    const concurrent = await Promise.all(Array.from({ length: 10 }, () => post(`/v1/payments/${id}/capture`, { amount: 1000, currency: 'EUR' })));
    assert.ok(concurrent.every((a) => a.status === 409 && a.body.error!.code === 'payment_already_captured'), JSON.stringify(concurrent));
    const state = await psp.payment(id);
    assert.equal(state.captureCount, 1);
    assert.equal(state.capturedAmount, 4000);

    const declined = await authorise(testCards.decline);
    assert.equal((await post(`/v1/payments/${declined.body.id}/capture`, {})).body.error!.code, 'payment_not_authorised');
    assert.equal((await post('/v1/payments/pay_unknown/capture', { amount: 1 })).status, 404);
  });

  test('void only before capture: releases an authorisation, refuses after capture, and a voided payment is not captured', async () => {
    const auth = await authorise(testCards.success);
    const id = auth.body.id as string;
    const voided = await post(`/v1/payments/${id}/void`, {});
    assert.equal(voided.status, 200);
    assert.equal(voided.body.status, 'voided');
    assert.equal((await post(`/v1/payments/${id}/capture`, {})).body.error!.code, 'payment_not_authorised');
    assert.equal((await post(`/v1/payments/${id}/void`, {})).body.error!.code, 'payment_already_voided');
    assert.equal((await psp.payment(id)).captureCount, 0);

    const capturedId = await capturedPayment(1200);
    const late = await post(`/v1/payments/${capturedId}/void`, {});
    assert.equal(late.status, 409);
    assert.equal(late.body.error!.code, 'payment_already_captured');
    assert.equal((await psp.payment(capturedId)).status, 'captured');

    // A pending 3-D Secure payment can be abandoned; its late confirmation then changes nothing.
    const pending = await authorise(testCards.threeDSecure);
    assert.equal((await post(`/v1/payments/${pending.body.id}/void`, {})).body.status, 'voided');
    assert.equal((await psp.request(`/v1/test/payments/${pending.body.id}/confirm`, { body: { outcome: 'succeed' } })).status, 409);
    assert.equal((await psp.payment(pending.body.id as string)).status, 'voided');
  });

  test('refunds never exceed what was captured, even when ten race for it', async () => {
    const auth = await authorise(testCards.success, { amount: 1000 });
    assert.equal((await post(`/v1/payments/${auth.body.id}/refunds`, { amount: 100 })).body.error!.code, 'payment_not_captured');

    const id = await capturedPayment(1000);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(`/v1/payments/${id}/refunds`, { amount: 300, currency: 'EUR' })));
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 422);
    assert.equal(accepted.length, 3);
    assert.equal(refused.length, 7);
    assert.ok(refused.every((a) => a.body.error!.code === 'amount_exceeds_captured'), JSON.stringify(refused));
    assert.equal((await psp.payment(id)).refundedAmount, 900);

    // The remaining 100 can still go back, and then nothing more.
    const last = await post(`/v1/payments/${id}/refunds`, { amount: 100, currency: 'EUR' });
    assert.equal(last.status, 201);
    assert.equal(last.body.refundedAmount, 1000);
    assert.equal((await post(`/v1/payments/${id}/refunds`, { amount: 1 })).status, 422);
    const state = await psp.payment(id);
    assert.equal(state.refunds.length, 4);
    assert.equal(state.refunds.reduce((sum, r) => sum + r.amount, 0), state.capturedAmount);
  });

  test('every state change is a webhook with the PaymentWebhookEvent shape, signed with the secret over the raw body', async () => {
    const auth = await authorise(testCards.success, { amount: 3000, orderId: 'order-webhooks' });
    const id = auth.body.id as string;
    await post(`/v1/payments/${id}/capture`, { amount: 3000 });
    await post(`/v1/payments/${id}/refunds`, { amount: 1000 });
    const voidable = await authorise(testCards.success);
    await post(`/v1/payments/${voidable.body.id}/void`, {});
    const declined = await authorise(testCards.decline);

    const deliveries = await eventually(() => receiver.of(id).length >= 3 && receiver.of(id), 'three webhooks');
    assert.deepEqual(deliveries.map((d) => d.event.type), ['payment.authorised', 'payment.captured', 'payment.refunded']);
    for (const d of deliveries) {
      assert.match(d.event.id, /^evt_/);
      assert.equal(d.event.data.providerPaymentId, id);
      assert.equal(d.event.data.orderId, 'order-webhooks');
      assert.ok(!Number.isNaN(Date.parse(d.event.createdAt)), d.event.createdAt);
      assert.equal(d.headers['content-type'], 'application/json');
      const header = d.headers['comptoir-signature'] as string;
      assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.equal(verifyWebhookSignature(psp.webhookSecret, header, d.rawBody, new Date()).ok, true);
      assert.deepEqual(verifyWebhookSignature('whsec_someone_else', header, d.rawBody, new Date()), { ok: false, reason: 'bad_signature' });
    }
    assert.deepEqual(deliveries.map((d) => d.event.data.amount), [3000, 3000, 1000]);
    const [voidEvent] = await eventually(() => receiver.of(voidable.body.id as string).filter((d) => d.event.type === 'payment.voided').length > 0 && receiver.of(voidable.body.id as string).filter((d) => d.event.type === 'payment.voided'), 'payment.voided');
    assert.equal(voidEvent!.event.data.currency, 'EUR');
    const [declineEvent] = await eventually(() => receiver.of(declined.body.id as string).length > 0 && receiver.of(declined.body.id as string), 'payment.declined');
    assert.equal(declineEvent!.event.type, 'payment.declined');
    assert.equal(declineEvent!.event.data.reason, 'card_declined');
    // Without chaos, each event exactly once.
    assert.equal(new Set(deliveries.map((d) => d.event.id)).size, deliveries.length);
  });

  test('a delivery answered 500 is retried with backoff: same event id and body, signed afresh, until a 2xx', async () => {
    receiver.answerWith((event, earlier) => (event.type === 'payment.captured' && earlier.length < 2 ? 500 : 204));
    const id = await capturedPayment(700);
    const captured = await eventually(() => {
      const all = receiver.of(id).filter((d) => d.event.type === 'payment.captured');
      return all.length >= 3 && all;
    }, 'the third delivery of payment.captured');
    assert.deepEqual(captured.map((d) => d.status), [500, 500, 204]);
    assert.equal(new Set(captured.map((d) => d.event.id)).size, 1, 'the same event each time');
    assert.equal(new Set(captured.map((d) => d.rawBody)).size, 1, 'the same body each time');
    for (const d of captured) assert.equal(verifyWebhookSignature(psp.webhookSecret, d.headers['comptoir-signature'] as string, d.rawBody, new Date()).ok, true);
    const attempts = (await psp.payment(id)).deliveries.filter((a) => a.type === 'payment.captured');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.outcome, a.delivered]), [[1, 500, false], [2, 500, false], [3, 204, true]]);
    // Once delivered, never again: the authorised event went through once and the captured one stops at three.
    await eventually(async () => (await psp.payment(id)).deliveries.length === 4, 'the delivery log to settle');
    assert.equal(receiver.of(id).filter((d) => d.event.type === 'payment.authorised').length, 1);
  });

  test('a receiver that is down is retried too, and the attempts run out', async () => {
    await psp.settings({ webhookUrl: 'http://127.0.0.1:9/nothing-listens-here', webhookMaxAttempts: 3 });
    const auth = await authorise(testCards.success);
    const id = auth.body.id as string;
    const attempts = await eventually(async () => {
      const all = (await psp.payment(id)).deliveries;
      return all.length >= 3 && all;
    }, 'three failed attempts');
    assert.deepEqual(attempts.map((a) => a.attempt), [1, 2, 3]);
    assert.ok(attempts.every((a) => !a.delivered && typeof a.outcome === 'string'), JSON.stringify(attempts));
  });

  test('chaos: with duplicateRate 1 every event is delivered twice with the same id', async () => {
    await psp.settings({ duplicateRate: 1 });
    const id = await capturedPayment(1100);
    const deliveries = await eventually(() => receiver.of(id).length >= 4 && receiver.of(id), 'four deliveries');
    const byId = new Map<string, string[]>();
    for (const d of deliveries) byId.set(d.event.id, [...(byId.get(d.event.id) ?? []), d.rawBody]);
    assert.equal(byId.size, 2);
    for (const bodies of byId.values()) {
      assert.equal(bodies.length, 2);
      assert.equal(bodies[0], bodies[1]);
    }
  });

  test('chaos: with reorder a payment\'s later event arrives before the earlier one', async () => {
    // A long window: the pair is released by the second event, not by the clock.
    await psp.settings({ reorder: true, reorderWindowMs: 600_000 });
    const id = await capturedPayment(1300);
    const deliveries = await eventually(() => receiver.of(id).length >= 2 && receiver.of(id), 'both events');
    assert.deepEqual(deliveries.map((d) => d.event.type), ['payment.captured', 'payment.authorised']);
    const created = deliveries.map((d) => Date.parse(d.event.createdAt));
    assert.ok(created[0]! >= created[1]!, 'the newer event came first');
  });

  test('an outage answers 503 on every provider route while the test routes still answer', async () => {
    const id = await capturedPayment(500);
    await psp.settings({ outage: true });
    assert.equal((await post(`/v1/payments/${id}/refunds`, { amount: 100 })).status, 503);
    assert.equal((await post('/v1/tokens', { number: testCards.success, expMonth: 1, expYear: 2099, cvc: '123' })).status, 503);
    assert.equal((await psp.payment(id)).refundedAmount, 0);
    await psp.settings({ outage: false });
    assert.equal((await post(`/v1/payments/${id}/refunds`, { amount: 100 })).status, 201);
  });
});

describe('a sandbox provider with debug logging and two webhook secrets', () => {
  test('never prints a card number or CVC, and signs each webhook with both secrets', async () => {
    const receiver = await startWebhookReceiver();
    const psp = await startSandboxProvider({ webhookUrl: receiver.url, webhookSecret: ['whsec_new_secret_aaaaaaaaaaaaaaaa', 'whsec_old_secret_bbbbbbbbbbbbbbbb'], log: 'debug' });
    try {
      const cvc = '8642';
      for (const number of Object.values(testCards)) {
        const token = await psp.tokenise(number, { cvc });
        if (number === testCards.timeout) continue;
        const answer = await psp.request('/v1/payments', { body: { token, amount: 100, currency: 'EUR', orderId: 'o-logs' }, headers: { 'idempotency-key': randomUUID() } });
        assert.ok([201, 503].includes(answer.status), `${answer.status} ${await answer.text()}`);
      }
      // Requests that fail on card data: broken JSON quoting a number, a number of the wrong type, a bad number.
      const sent = [
        `{"number":"${testCards.success}","cvc":"${cvc}",`,
        JSON.stringify({ number: Number(testCards.decline), expMonth: 1, expYear: 2099, cvc }),
        JSON.stringify({ number: '4242424242424241', expMonth: 1, expYear: 2099, cvc }),
        JSON.stringify({ number: testCards.success, expMonth: 1, expYear: 2099, cvc, extra: testCards.threeDSecure }),
      ];
      for (const body of sent) {
        const response = await fetch(`${psp.baseUrl}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(response.status, 400);
        const text = await response.text();
        for (const number of [...Object.values(testCards), '4242424242424241']) assert.ok(!text.includes(number), `the answer does not echo the card: ${text}`);
      }
      const delivered = await eventually(() => receiver.received.length > 0 && receiver.received[0], 'a webhook');
      const header = delivered.headers['comptoir-signature'] as string;
      assert.equal(header.split(',').filter((part) => part.startsWith('v1=')).length, 2);
      for (const secret of psp.webhookSecrets) assert.equal(verifyWebhookSignature(secret, header, delivered.rawBody, new Date()).ok, true);

      await psp.stop();
      const output = psp.output();
      // The log was on and saw these requests: the test would catch a leak.
      assert.ok(output.split('\n').filter((line) => line.includes('"path":"/v1/tokens"')).length >= Object.keys(testCards).length + sent.length, output);
      for (const number of [...Object.values(testCards), '4242424242424241', String(Number(testCards.decline))]) {
        assert.ok(!output.includes(number), `card number ${number} printed`);
        assert.ok(!output.includes(number.slice(0, 12)), `a prefix of ${number} printed`);
      }
      assert.ok(!output.includes(`"${cvc}"`) && !output.includes('cvc'), 'a CVC printed');
      assert.ok(!output.includes(psp.apiKey) && !psp.webhookSecrets.some((s) => output.includes(s)), 'a secret printed');
    } finally {
      await psp.stop();
      await receiver.close();
    }
  });
});

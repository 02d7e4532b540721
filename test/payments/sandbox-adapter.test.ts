/**
 * Comptoir's sandbox adapter against the real sandbox process: results mapped to the PaymentProvider
 * interface, and every failure classified — retryable (`PaymentProviderUnavailable`: no answer, timeout,
 * 5xx) or not (`PaymentProviderRejection` with the provider's code).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { PaymentProviderRejection, PaymentProviderUnavailable, type PaymentProvider } from '../../payments/provider';
import { createSandboxProvider } from '../../payments/sandbox-adapter';
import type { SandboxSettings } from '../../sandbox/payment-provider/settings';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';

// Every assert.ok carries a message: without one, a failing assert.ok re-reads this (transpiled) file to
// describe itself, which hangs under tsx instead of failing.

const eur = (amount: number) => ({ amount, currency: 'EUR' });
const key = () => randomUUID();

async function rejectsWith(promise: Promise<unknown>, kind: typeof PaymentProviderRejection | typeof PaymentProviderUnavailable, code?: string) {
  const error = await promise.then(
    () => assert.fail(`expected ${kind.name}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
  if (code !== undefined) assert.equal((error as PaymentProviderRejection).code, code);
  return error as Error;
}

describe('the sandbox adapter over the real sandbox process', () => {
  let psp: SandboxProvider;
  let provider: PaymentProvider;
  let defaults: SandboxSettings;

  before(async () => {
    psp = await startSandboxProvider();
    provider = createSandboxProvider({ baseUrl: psp.baseUrl, apiKey: psp.apiKey, timeoutMs: 2_000 });
    defaults = (await (await psp.request('/v1/test/settings')).json()) as SandboxSettings;
  });
  after(async () => psp?.stop());
  afterEach(async () => {
    await psp.settings(defaults);
  });

  const authorised = async (amount: number) => {
    const result = await provider.authorise({ token: await psp.tokenise(testCards.success), money: eur(amount), orderId: `order-${randomUUID()}`, idempotencyKey: key() });
    assert.equal(result.status, 'authorised');
    return result.providerPaymentId!;
  };

  test('authorise maps each card to its result', async () => {
    const orderId = `order-${randomUUID()}`;
    const ok = await provider.authorise({ token: await psp.tokenise(testCards.success), money: eur(1999), orderId, idempotencyKey: key() });
    assert.equal(ok.status, 'authorised');
    const state = await psp.payment(ok.providerPaymentId!);
    assert.equal(state.orderId, orderId);
    assert.equal(state.amount, 1999);

    const action = await provider.authorise({ token: await psp.tokenise(testCards.threeDSecure), money: eur(500), orderId, idempotencyKey: key() });
    assert.equal(action.status, 'requires_action');
    assert.ok(action.status === 'requires_action' && action.actionUrl.startsWith(`${psp.baseUrl}/3ds/pay_`), JSON.stringify(action));

    const declined = await provider.authorise({ token: await psp.tokenise(testCards.decline), money: eur(500), orderId, idempotencyKey: key() });
    assert.deepEqual(declined, { status: 'declined', providerPaymentId: declined.providerPaymentId, reason: 'card_declined' });
    const poor = await provider.authorise({ token: await psp.tokenise(testCards.insufficientFunds), money: eur(500), orderId, idempotencyKey: key() });
    assert.equal(poor.status === 'declined' && poor.reason, 'insufficient_funds');
  });

  test('capture, void and refund return the provider references; the same key twice moves money once', async () => {
    const id = await authorised(3000);
    const captureKey = key();
    const first = await provider.capture({ providerPaymentId: id, money: eur(3000), idempotencyKey: captureKey });
    const again = await provider.capture({ providerPaymentId: id, money: eur(3000), idempotencyKey: captureKey });
    assert.equal(first.status, 'captured');
    assert.deepEqual(again, first);
    const refundKey = key();
    const refund = await provider.refund({ providerPaymentId: id, money: eur(1200), idempotencyKey: refundKey });
    assert.deepEqual(await provider.refund({ providerPaymentId: id, money: eur(1200), idempotencyKey: refundKey }), refund);
    const state = await psp.payment(id);
    assert.deepEqual(state.captures.map((c) => c.id), [first.providerReference]);
    assert.deepEqual(state.refunds.map((r) => r.id), [refund.providerReference]);
    assert.equal(state.refundedAmount, 1200);

    const voidable = await authorised(100);
    assert.deepEqual(await provider.void({ providerPaymentId: voidable, idempotencyKey: key() }), { status: 'voided' });
    // Voiding is a compensation and may run again under another key: still voided, not an error.
    assert.deepEqual(await provider.void({ providerPaymentId: voidable, idempotencyKey: key() }), { status: 'voided' });
    assert.equal((await psp.payment(voidable)).status, 'voided');
  });

  test('refusals are PaymentProviderRejection with the provider code, and are not worth retrying', async () => {
    const id = await authorised(1000);
    await rejectsWith(provider.capture({ providerPaymentId: id, money: eur(1001), idempotencyKey: key() }), PaymentProviderRejection, 'amount_exceeds_authorised');
    await rejectsWith(provider.capture({ providerPaymentId: id, money: { amount: 1000, currency: 'USD' }, idempotencyKey: key() }), PaymentProviderRejection, 'currency_mismatch');
    await provider.capture({ providerPaymentId: id, money: eur(1000), idempotencyKey: key() });
    await rejectsWith(provider.capture({ providerPaymentId: id, money: eur(1000), idempotencyKey: key() }), PaymentProviderRejection, 'payment_already_captured');
    await rejectsWith(provider.void({ providerPaymentId: id, idempotencyKey: key() }), PaymentProviderRejection, 'payment_already_captured');
    await rejectsWith(provider.refund({ providerPaymentId: id, money: eur(1001), idempotencyKey: key() }), PaymentProviderRejection, 'amount_exceeds_captured');
    await rejectsWith(provider.refund({ providerPaymentId: 'pay_unknown', money: eur(1), idempotencyKey: key() }), PaymentProviderRejection, 'payment_not_found');

    const reusedKey = key();
    await provider.refund({ providerPaymentId: id, money: eur(100), idempotencyKey: reusedKey });
    await rejectsWith(provider.refund({ providerPaymentId: id, money: eur(200), idempotencyKey: reusedKey }), PaymentProviderRejection, 'idempotency_key_reused');
    await rejectsWith(provider.authorise({ token: 'tok_unknown', money: eur(1), orderId: 'o', idempotencyKey: key() }), PaymentProviderRejection, 'token_not_found');

    const wrongKey = createSandboxProvider({ baseUrl: psp.baseUrl, apiKey: 'sk_test_wrong' });
    const error = await rejectsWith(wrongKey.capture({ providerPaymentId: id, money: eur(1), idempotencyKey: key() }), PaymentProviderRejection, 'unauthorized');
    assert.ok(!error.message.includes('sk_test_wrong'), error.message);
  });

  test('a provider that does not answer in time is unavailable, and so is a 503', async () => {
    const token = await psp.tokenise(testCards.timeout);
    await psp.settings({ timeoutCard: 'hang', hangMs: 120_000 });
    const impatient = createSandboxProvider({ baseUrl: psp.baseUrl, apiKey: psp.apiKey, timeoutMs: 300 });
    const timedOut = await rejectsWith(impatient.authorise({ token, money: eur(100), orderId: 'o-timeout', idempotencyKey: key() }), PaymentProviderUnavailable);
    assert.match(timedOut.message, /no answer within 300 ms/);
    assert.ok(!timedOut.message.includes(psp.apiKey) && !timedOut.message.includes(token), timedOut.message);

    await psp.settings({ timeoutCard: 'unavailable' });
    const refused = await rejectsWith(provider.authorise({ token, money: eur(100), orderId: 'o-timeout', idempotencyKey: key() }), PaymentProviderUnavailable);
    assert.match(refused.message, /503/);
    assert.deepEqual(await psp.paymentsOf('o-timeout'), []);
  });

  test('retrying an unavailable call with the same key succeeds once the provider recovers (flaky card)', async () => {
    const input = { token: await psp.tokenise(testCards.flaky), money: eur(800), orderId: `order-${randomUUID()}`, idempotencyKey: key() };
    await rejectsWith(provider.authorise(input), PaymentProviderUnavailable);
    await rejectsWith(provider.authorise(input), PaymentProviderUnavailable);
    const result = await provider.authorise(input);
    assert.equal(result.status, 'authorised');
    assert.deepEqual(await provider.authorise(input), result);
    assert.equal((await psp.paymentsOf(input.orderId)).length, 1);
  });

  test('an outage makes every operation unavailable, and it works again afterwards', async () => {
    const id = await authorised(600);
    await psp.settings({ outage: true });
    await rejectsWith(provider.capture({ providerPaymentId: id, money: eur(600), idempotencyKey: key() }), PaymentProviderUnavailable);
    await rejectsWith(provider.void({ providerPaymentId: id, idempotencyKey: key() }), PaymentProviderUnavailable);
    await psp.settings({ outage: false });
    assert.equal((await provider.capture({ providerPaymentId: id, money: eur(600), idempotencyKey: key() })).status, 'captured');
  });
});

describe('the sandbox adapter when the provider is gone or misbehaves', () => {
  let server: Server;
  let baseUrl: string;
  /** What the fake answers next: a provider (or a proxy in front of it) having a bad day. */
  let next: { status: number; body: string; contentType?: string } = { status: 200, body: '{}' };

  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(next.status, { 'content-type': next.contentType ?? 'application/json' }).end(next.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  test('nothing listening: unavailable, naming the socket error', async () => {
    const psp = await startSandboxProvider();
    const gone = psp.baseUrl;
    await psp.stop();
    const provider = createSandboxProvider({ baseUrl: gone, apiKey: psp.apiKey, timeoutMs: 2_000 });
    const error = await rejectsWith(provider.capture({ providerPaymentId: 'pay_x', money: eur(1), idempotencyKey: key() }), PaymentProviderUnavailable);
    assert.match(error.message, /unreachable \(ECONNREFUSED\)/);
  });

  test('5xx and 429 are unavailable, other 4xx are rejections, unreadable success bodies are unavailable', async () => {
    const provider = createSandboxProvider({ baseUrl, apiKey: 'sk_test_fake', timeoutMs: 2_000 });
    const capture = () => provider.capture({ providerPaymentId: 'pay_x', money: eur(1), idempotencyKey: key() });
    next = { status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' };
    await rejectsWith(capture(), PaymentProviderUnavailable);
    next = { status: 500, body: '{"error":{"code":"internal_error"}}' };
    await rejectsWith(capture(), PaymentProviderUnavailable);
    next = { status: 429, body: '{"error":{"code":"rate_limited"}}' };
    await rejectsWith(capture(), PaymentProviderUnavailable);
    next = { status: 400, body: 'not json', contentType: 'text/plain' };
    await rejectsWith(capture(), PaymentProviderRejection, 'http_400');
    next = { status: 409, body: '{"error":{"code":"payment_already_captured"}}' };
    await rejectsWith(capture(), PaymentProviderRejection, 'payment_already_captured');
    next = { status: 200, body: '{"id":"cap_' };
    await rejectsWith(capture(), PaymentProviderUnavailable);
    next = { status: 201, body: '{"id":"pay_1","status":"mystery"}' };
    await rejectsWith(provider.authorise({ token: 'tok_x', money: eur(1), orderId: 'o', idempotencyKey: key() }), PaymentProviderRejection, 'unexpected_status');
  });
});

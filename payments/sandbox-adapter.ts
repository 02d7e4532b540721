/**
 * Comptoir's adapter for the sandbox payment provider (`sandbox/payment-provider/`), over plain HTTP as
 * for a real provider. Failures are classified for the payment workflow's retry policy:
 * - no answer (network error, timeout) or 5xx, 429 → `PaymentProviderUnavailable`: retry with the same key;
 *   the provider either never saw the call or replays its stored answer.
 * - any other 4xx → `PaymentProviderRejection` with the provider's error code: retrying would not help.
 * A decline is not an error: `authorise` returns `{status: 'declined', reason}`.
 * Error messages name the operation and the status or code only — never the key, a token or a body.
 */
import {
  PaymentProviderRejection,
  PaymentProviderUnavailable,
  type AuthorisationResult,
  type CaptureResult,
  type PaymentProvider,
  type RefundResult,
  type VoidResult,
} from './provider';

export interface SandboxProviderOptions {
  baseUrl: string;
  apiKey: string;
  /** Per call; past it the call is abandoned and reported unavailable (the idempotency key makes the retry safe). */
  timeoutMs?: number;
}

type ProviderPayment = { id: string; status: string; action_url?: string; reason?: string };

export function createSandboxProvider({ baseUrl, apiKey, timeoutMs = 10_000 }: SandboxProviderOptions): PaymentProvider {
  const root = baseUrl.replace(/\/+$/, '');

  async function call<T>(operation: string, path: string, idempotencyKey: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${root}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new PaymentProviderUnavailable(timedOut ? `${operation}: no answer within ${timeoutMs} ms` : `${operation}: provider unreachable (${errorName(error)})`);
    }
    let parsed: unknown;
    try {
      const text = await response.text();
      parsed = text ? JSON.parse(text) : undefined;
    } catch (error) {
      // A body cut short (or a proxy's HTML page) says nothing reliable; the retry replays the stored answer.
      if (response.ok || response.status >= 500) throw new PaymentProviderUnavailable(`${operation}: unreadable answer (HTTP ${response.status}, ${errorName(error)})`);
      parsed = undefined;
    }
    if (response.ok) return parsed as T;
    const code = errorCodeOf(parsed) ?? `http_${response.status}`;
    if (response.status >= 500 || response.status === 429) {
      throw new PaymentProviderUnavailable(`${operation}: provider answered ${response.status} (${code})`);
    }
    throw new PaymentProviderRejection(`${operation}: provider refused with ${response.status} (${code})`, code);
  }

  return {
    name: 'sandbox',

    async authorise({ token, money, orderId, idempotencyKey }): Promise<AuthorisationResult> {
      const payment = await call<ProviderPayment>('authorise', '/v1/payments', idempotencyKey, { token, amount: money.amount, currency: money.currency, orderId });
      switch (payment.status) {
        case 'authorised':
          return { status: 'authorised', providerPaymentId: payment.id };
        case 'requires_action':
          if (!payment.action_url) throw new PaymentProviderUnavailable('authorise: requires_action without an action URL');
          return { status: 'requires_action', providerPaymentId: payment.id, actionUrl: payment.action_url };
        case 'declined':
          return { status: 'declined', providerPaymentId: payment.id, reason: payment.reason ?? 'card_declined' };
        default:
          throw new PaymentProviderRejection(`authorise: unexpected status ${String(payment.status)}`, 'unexpected_status');
      }
    },

    async capture({ providerPaymentId, money, idempotencyKey }): Promise<CaptureResult> {
      const capture = await call<{ id: string }>('capture', `/v1/payments/${encodeURIComponent(providerPaymentId)}/capture`, idempotencyKey, money);
      return { status: 'captured', providerReference: capture.id };
    },

    async void({ providerPaymentId, idempotencyKey }): Promise<VoidResult> {
      try {
        await call('void', `/v1/payments/${encodeURIComponent(providerPaymentId)}/void`, idempotencyKey, {});
      } catch (error) {
        // Voiding is a compensation: "already voided" (under another key) is the outcome it wanted.
        if (!(error instanceof PaymentProviderRejection && error.code === 'payment_already_voided')) throw error;
      }
      return { status: 'voided' };
    },

    async refund({ providerPaymentId, money, idempotencyKey }): Promise<RefundResult> {
      const refund = await call<{ id: string }>('refund', `/v1/payments/${encodeURIComponent(providerPaymentId)}/refunds`, idempotencyKey, money);
      return { status: 'refunded', providerReference: refund.id };
    },
  };
}

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  // undici puts the socket-level reason (ECONNREFUSED, ECONNRESET …) in `cause`.
  const cause = (error as Error & { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : error.name;
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

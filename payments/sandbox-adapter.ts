/**
 * Comptoir's adapter for the sandbox payment provider (`sandbox/payment-provider/`), over plain HTTP as
 * for a real provider. Failures are classified for the payment workflow's retry policy
 * (platform/partner-http.ts):
 * - no answer (network error, timeout) or 5xx, 429 → `PaymentProviderUnavailable`: retry with the same key;
 *   the provider either never saw the call or replays its stored answer.
 * - any other 4xx → `PaymentProviderRejection` with the provider's error code: retrying would not help.
 * A decline is not an error: `authorise` returns `{status: 'declined', reason}`.
 * Error messages name the operation and the status or code only — never the key, a token or a body.
 */
import { partnerCaller } from '../platform/partner-http';
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
  const call = partnerCaller({
    partner: 'provider',
    baseUrl,
    apiKey,
    timeoutMs,
    unavailable: (message) => new PaymentProviderUnavailable(message),
    rejection: (message, code) => new PaymentProviderRejection(message, code),
  });

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

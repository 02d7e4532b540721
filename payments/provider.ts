/**
 * What Comptoir needs from a payment provider, whoever it is: the sandbox (`sandbox/payment-provider/`)
 * or a real one behind the same adapter. Amounts are integer minor units with an ISO 4217 currency.
 * Every money-moving call takes an idempotency key (built by the payment workflow from its workflow id
 * and the step): the provider returns the same result for the same key and parameters, and refuses the
 * same key with other parameters.
 */

export interface Money {
  amount: number;
  currency: string;
}

/** A card stands for itself only at the provider: Comptoir sees an opaque token (`tok_…`), never a card number. */
export type PaymentToken = string;

export type AuthorisationResult =
  | { status: 'authorised'; providerPaymentId: string }
  /** 3-D Secure or similar: the shopper must confirm at `actionUrl`; the outcome arrives later by webhook. */
  | { status: 'requires_action'; providerPaymentId: string; actionUrl: string }
  | { status: 'declined'; providerPaymentId?: string; reason: 'card_declined' | 'insufficient_funds' | 'expired_card' | 'fraud_suspected' | string };

export interface CaptureResult {
  status: 'captured';
  providerReference: string;
}

export interface VoidResult {
  status: 'voided';
}

export interface RefundResult {
  status: 'refunded';
  providerReference: string;
}

/**
 * The provider could not be reached or answered 5xx / timed out: retry with the same idempotency key.
 * Anything else the adapter throws is a `PaymentProviderRejection`: retrying would not help.
 */
export class PaymentProviderUnavailable extends Error {
  override name = 'PaymentProviderUnavailable';
}

export class PaymentProviderRejection extends Error {
  override name = 'PaymentProviderRejection';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface PaymentProvider {
  readonly name: string;
  authorise(input: { token: PaymentToken; money: Money; orderId: string; idempotencyKey: string }): Promise<AuthorisationResult>;
  capture(input: { providerPaymentId: string; money: Money; idempotencyKey: string }): Promise<CaptureResult>;
  void(input: { providerPaymentId: string; idempotencyKey: string }): Promise<VoidResult>;
  refund(input: { providerPaymentId: string; money: Money; idempotencyKey: string }): Promise<RefundResult>;
}

/** Events the provider sends by signed webhook (`POST /v1/webhooks/payments`). */
export interface PaymentWebhookEvent {
  /** Unique per event at the provider: redeliveries repeat it. */
  id: string;
  type: 'payment.authorised' | 'payment.declined' | 'payment.captured' | 'payment.refunded' | 'payment.voided';
  createdAt: string;
  data: { providerPaymentId: string; orderId: string; amount?: number; currency?: string; reason?: string };
}

/**
 * The sandbox's books: tokens and payments, in memory (a restart forgets everything, like a fresh test
 * account; Comptoir must then treat unknown ids as rejections, which is what a real provider would answer).
 *
 * Every operation is synchronous: between its check and its write nothing else runs, so concurrent
 * requests (two refunds racing for the last euro) are serialised by the event loop itself.
 */
import { randomBytes } from 'node:crypto';
import { SandboxError } from '../shared/http';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { behaviourOf, brandOf, type CardBehaviour } from './cards';

export class ProviderError extends SandboxError {
  override name = 'ProviderError';
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

/** What the provider keeps of a card: never its number or CVC, only what decides its behaviour and shows on a receipt. */
export interface CardToken {
  id: string;
  behaviour: CardBehaviour;
  brand: ReturnType<typeof brandOf>;
  last4: string;
  expired: boolean;
  createdAt: string;
}

export type PaymentStatus = 'requires_action' | 'authorised' | 'declined' | 'captured' | 'voided';

export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  declineReason?: string;
  card: { brand: string; last4: string };
  capturedAmount: number;
  refundedAmount: number;
  captures: { id: string; amount: number; createdAt: string }[];
  refunds: { id: string; amount: number; createdAt: string }[];
  voidedAt?: string;
  createdAt: string;
  updatedAt: string;
}

export type EventSink = (event: PaymentWebhookEvent) => void;

export class PaymentBook {
  private readonly tokens = new Map<string, CardToken>();
  private readonly payments = new Map<string, Payment>();

  constructor(
    private readonly emit: EventSink,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The number and CVC are read here and dropped: nothing downstream ever holds them. */
  tokenise(card: { number: string; expMonth: number; expYear: number }): CardToken {
    const now = this.clock();
    // A card is valid until the end of its expiry month.
    const expired = card.expYear < now.getUTCFullYear() || (card.expYear === now.getUTCFullYear() && card.expMonth < now.getUTCMonth() + 1);
    const token: CardToken = {
      id: newId('tok'),
      behaviour: behaviourOf(card.number),
      brand: brandOf(card.number),
      last4: card.number.slice(-4),
      expired,
      createdAt: now.toISOString(),
    };
    this.tokens.set(token.id, token);
    return token;
  }

  token(id: string): CardToken {
    const token = this.tokens.get(id);
    if (!token) throw new ProviderError(404, 'token_not_found', 'no such card token');
    return token;
  }

  payment(id: string): Payment {
    const payment = this.payments.get(id);
    if (!payment) throw new ProviderError(404, 'payment_not_found', 'no such payment');
    return payment;
  }

  find(filter: { orderId?: string }): Payment[] {
    return [...this.payments.values()].filter((p) => filter.orderId === undefined || p.orderId === filter.orderId);
  }

  /** Decides the authorisation from the card; the slow and failing cards are handled before this (they never reach the books). */
  authorise(input: { token: CardToken; amount: number; currency: string; orderId: string }): Payment {
    const now = this.clock().toISOString();
    const { token } = input;
    const payment: Payment = {
      id: newId('pay'),
      orderId: input.orderId,
      amount: input.amount,
      currency: input.currency,
      status: 'authorised',
      card: { brand: token.brand, last4: token.last4 },
      capturedAmount: 0,
      refundedAmount: 0,
      captures: [],
      refunds: [],
      createdAt: now,
      updatedAt: now,
    };
    if (token.expired) this.decline(payment, 'expired_card');
    else if (token.behaviour === 'decline') this.decline(payment, 'card_declined');
    else if (token.behaviour === 'insufficientFunds') this.decline(payment, 'insufficient_funds');
    else if (token.behaviour === 'threeDSecure') payment.status = 'requires_action';
    this.payments.set(payment.id, payment);
    if (payment.status === 'authorised') this.event('payment.authorised', payment, { amount: payment.amount, currency: payment.currency });
    if (payment.status === 'declined') this.event('payment.declined', payment, { reason: payment.declineReason });
    return payment;
  }

  /** The outcome of 3-D Secure: only a payment still waiting for it changes. */
  confirm(id: string, outcome: 'succeed' | 'fail'): Payment {
    const payment = this.payment(id);
    if (payment.status !== 'requires_action') throw new ProviderError(409, 'payment_not_awaiting_action', `payment is ${payment.status}`);
    if (outcome === 'succeed') {
      payment.status = 'authorised';
      this.touch(payment);
      this.event('payment.authorised', payment, { amount: payment.amount, currency: payment.currency });
    } else {
      this.decline(payment, 'authentication_failed');
      this.touch(payment);
      this.event('payment.declined', payment, { reason: payment.declineReason });
    }
    return payment;
  }

  capture(id: string, money: { amount?: number; currency?: string }): { payment: Payment; captureId: string; amount: number } {
    const payment = this.payment(id);
    this.sameCurrency(payment, money.currency);
    if (payment.status === 'captured') throw new ProviderError(409, 'payment_already_captured', 'a payment is captured once');
    if (payment.status !== 'authorised') throw new ProviderError(409, 'payment_not_authorised', `payment is ${payment.status}`);
    const amount = money.amount ?? payment.amount;
    if (amount > payment.amount) throw new ProviderError(422, 'amount_exceeds_authorised', `at most ${payment.amount} can be captured`);
    const capture = { id: newId('cap'), amount, createdAt: this.clock().toISOString() };
    payment.captures.push(capture);
    payment.capturedAmount = amount;
    payment.status = 'captured';
    this.touch(payment);
    this.event('payment.captured', payment, { amount, currency: payment.currency });
    return { payment, captureId: capture.id, amount };
  }

  /** Releases an authorisation (or abandons a pending 3-D Secure one); once captured, only refunds give money back. */
  void(id: string): Payment {
    const payment = this.payment(id);
    if (payment.status === 'captured') throw new ProviderError(409, 'payment_already_captured', 'a captured payment is refunded, not voided');
    if (payment.status === 'voided') throw new ProviderError(409, 'payment_already_voided', 'payment is already voided');
    if (payment.status === 'declined') throw new ProviderError(409, 'payment_declined', 'a declined payment holds nothing to void');
    payment.status = 'voided';
    payment.voidedAt = this.clock().toISOString();
    this.touch(payment);
    this.event('payment.voided', payment, { amount: payment.amount, currency: payment.currency });
    return payment;
  }

  refund(id: string, money: { amount: number; currency?: string }): { payment: Payment; refundId: string } {
    const payment = this.payment(id);
    this.sameCurrency(payment, money.currency);
    if (payment.status !== 'captured') throw new ProviderError(409, 'payment_not_captured', `payment is ${payment.status}`);
    const refundable = payment.capturedAmount - payment.refundedAmount;
    if (money.amount > refundable) throw new ProviderError(422, 'amount_exceeds_captured', `at most ${refundable} can still be refunded`);
    const refund = { id: newId('re'), amount: money.amount, createdAt: this.clock().toISOString() };
    payment.refunds.push(refund);
    payment.refundedAmount += money.amount;
    this.touch(payment);
    this.event('payment.refunded', payment, { amount: money.amount, currency: payment.currency });
    return { payment, refundId: refund.id };
  }

  private decline(payment: Payment, reason: string) {
    payment.status = 'declined';
    payment.declineReason = reason;
  }

  private sameCurrency(payment: Payment, currency: string | undefined) {
    if (currency !== undefined && currency !== payment.currency) {
      throw new ProviderError(422, 'currency_mismatch', `payment is in ${payment.currency}`);
    }
  }

  private touch(payment: Payment) {
    payment.updatedAt = this.clock().toISOString();
  }

  private event(type: PaymentWebhookEvent['type'], payment: Payment, extra: Partial<PaymentWebhookEvent['data']>) {
    this.emit({
      id: newId('evt'),
      type,
      createdAt: this.clock().toISOString(),
      data: { providerPaymentId: payment.id, orderId: payment.orderId, ...extra },
    });
  }
}

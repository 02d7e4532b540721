import { ApplicationFailure } from '@temporalio/common';
import {
  completeRefund,
  failRefund,
  openPayment,
  PaymentNotFound,
  recordAuthorisation,
  recordCapture,
  recordPaymentFailure,
  recordVoid,
  RefundExceedsCaptured,
  RefundMismatch,
  reserveRefund,
} from '../../db/payments';
import { PaymentProviderRejection, PaymentProviderUnavailable, type AuthorisationResult, type PaymentProvider } from '../../payments/provider';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import { traced } from '../../platform/telemetry';

export interface PaymentActivityDeps {
  db: Database;
  logger: Logger;
  provider: PaymentProvider;
}

/**
 * Provider failures as the workflow's retry policy understands them: unavailable → retried with the
 * same idempotency key (the provider replays or finally does the work once); rejected → final, with the
 * provider's code in the details. Messages name the operation and the status only (the adapter's rule).
 */
function asFailure(error: unknown): unknown {
  if (error instanceof PaymentProviderUnavailable) return ApplicationFailure.retryable(error.message, 'PaymentProviderUnavailable');
  if (error instanceof PaymentProviderRejection) {
    return ApplicationFailure.create({ message: error.message, type: 'PaymentProviderRejection', nonRetryable: true, details: [{ code: error.code }] });
  }
  if (error instanceof RefundExceedsCaptured) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'RefundExceedsCaptured',
      nonRetryable: true,
      details: [{ requested: error.requested, refundable: error.refundable }],
    });
  }
  if (error instanceof RefundMismatch || error instanceof PaymentNotFound) {
    return ApplicationFailure.create({ message: error.message, type: error.name, nonRetryable: true });
  }
  return error;
}

async function providerCall<T>(operation: string, orderId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await traced(`payments.${operation}`, { 'comptoir.order_id': orderId }, work);
  } catch (error) {
    throw asFailure(error);
  }
}

/** A void has nothing to release when the provider holds nothing under this payment. */
const nothingToVoid = new Set(['payment_declined', 'payment_not_found']);

export interface AuthorisePaymentInput {
  orderId: string;
  amount: number;
  currency: string;
  paymentToken: string;
  idempotencyKey: string;
}

/**
 * The payment activities. Every provider call carries the idempotency key the workflow built from its id
 * and the step, and every ledger entry is posted under that same key, once: a retried activity, a
 * replayed workflow or a worker killed between the call and the write never moves money twice, nor
 * records it twice.
 */
export function createPaymentActivities({ db, logger, provider }: PaymentActivityDeps) {
  return {
    /** Opens the payment and asks the provider to authorise it; a decline is a result, not an error. */
    async authorisePayment(input: AuthorisePaymentInput): Promise<AuthorisationResult> {
      await openPayment(db, { orderId: input.orderId, provider: provider.name, amount: input.amount, currency: input.currency });
      const money = { amount: input.amount, currency: input.currency };
      const result = await providerCall('authorise', input.orderId, () =>
        provider.authorise({ token: input.paymentToken, money, orderId: input.orderId, idempotencyKey: input.idempotencyKey }),
      );
      if (result.status === 'declined') {
        await recordPaymentFailure(db, { orderId: input.orderId, reason: result.reason, providerPaymentId: result.providerPaymentId });
      } else {
        await recordAuthorisation(db, { orderId: input.orderId, providerPaymentId: result.providerPaymentId, status: result.status, ...money, idempotencyKey: input.idempotencyKey });
      }
      logger.info({ orderId: input.orderId, status: result.status, amount: input.amount, currency: input.currency }, 'payment authorisation answered');
      return result;
    },

    /** The provider confirmed a 3-D Secure authorisation (by webhook): posted under the authorisation's key, so once. */
    async confirmAuthorisation(input: { orderId: string; providerPaymentId: string; amount: number; currency: string; idempotencyKey: string }): Promise<{ posted: boolean }> {
      const result = await recordAuthorisation(db, { ...input, status: 'authorised' });
      if (result.posted) logger.info({ orderId: input.orderId }, 'payment authorised after confirmation');
      return result;
    },

    async recordPaymentFailure(input: { orderId: string; reason: string; providerPaymentId?: string | null }): Promise<void> {
      await recordPaymentFailure(db, input);
      logger.info({ orderId: input.orderId, reason: input.reason }, 'payment failed');
    },

    async capturePayment(input: { orderId: string; providerPaymentId: string; amount: number; currency: string; idempotencyKey: string }): Promise<{ providerReference: string; posted: boolean }> {
      const money = { amount: input.amount, currency: input.currency };
      const capture = await providerCall('capture', input.orderId, () =>
        provider.capture({ providerPaymentId: input.providerPaymentId, money, idempotencyKey: input.idempotencyKey }),
      );
      const { posted } = await recordCapture(db, { orderId: input.orderId, ...money, idempotencyKey: input.idempotencyKey, providerReference: capture.providerReference });
      if (posted) logger.info({ orderId: input.orderId, amount: input.amount, currency: input.currency }, 'payment captured');
      return { providerReference: capture.providerReference, posted };
    },

    /**
     * Releases the hold. With `failureReason` the payment ends failed (the void cleaned up after a
     * failure) rather than voided. A payment the provider holds nothing for (declined, unknown) is
     * recorded as released without complaint: that is the outcome a void wants.
     */
    async voidPayment(input: { orderId: string; providerPaymentId: string | null; idempotencyKey: string; failureReason?: string }): Promise<{ released: number; providerVoided: boolean }> {
      let providerVoided = false;
      if (input.providerPaymentId) {
        const providerPaymentId = input.providerPaymentId;
        try {
          await providerCall('void', input.orderId, () => provider.void({ providerPaymentId, idempotencyKey: input.idempotencyKey }));
          providerVoided = true;
        } catch (error) {
          const code = error instanceof ApplicationFailure && error.type === 'PaymentProviderRejection' ? (error.details?.[0] as { code?: string } | undefined)?.code : undefined;
          if (!code || !nothingToVoid.has(code)) throw error;
        }
      }
      const { released } = await recordVoid(db, { orderId: input.orderId, idempotencyKey: input.idempotencyKey, failureReason: input.failureReason });
      logger.info({ orderId: input.orderId, released, failureReason: input.failureReason }, 'payment voided');
      return { released, providerVoided };
    },

    /**
     * A partial or full refund. The claim is made first, under a lock on the payment, so concurrent
     * refunds never add up to more than was captured (`RefundExceedsCaptured`, final); then the provider
     * is called with the refund's key; then the ledger entry is posted under that key.
     */
    async refundPayment(input: { orderId: string; providerPaymentId: string; amount: number; currency: string; reason: string; idempotencyKey: string }): Promise<{ providerReference: string; posted: boolean }> {
      const refund = await traced('db.reserveRefund', { 'comptoir.order_id': input.orderId }, () =>
        reserveRefund(db, { orderId: input.orderId, amount: input.amount, reason: input.reason, idempotencyKey: input.idempotencyKey }),
      ).catch((error: unknown) => {
        throw asFailure(error);
      });
      if (refund.status === 'failed') {
        throw ApplicationFailure.create({ message: 'this refund was refused by the provider before', type: 'PaymentProviderRejection', nonRetryable: true, details: [{ code: 'refund_failed' }] });
      }
      let providerReference: string;
      try {
        ({ providerReference } = await providerCall('refund', input.orderId, () =>
          provider.refund({ providerPaymentId: input.providerPaymentId, money: { amount: input.amount, currency: input.currency }, idempotencyKey: input.idempotencyKey }),
        ));
      } catch (error) {
        // Refused for good: the claim on the captured amount is given back. Unavailable: the claim stays for the retry.
        if (error instanceof ApplicationFailure && error.nonRetryable) await failRefund(db, input.idempotencyKey);
        throw error;
      }
      const { posted } = await completeRefund(db, { idempotencyKey: input.idempotencyKey, providerReference });
      if (posted) logger.info({ orderId: input.orderId, amount: input.amount, currency: input.currency }, 'payment refunded');
      return { providerReference, posted };
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

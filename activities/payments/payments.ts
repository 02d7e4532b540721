import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
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
import { orderById } from '../../db/orders';
import { refunds } from '../../db/schema/payments';
import { CreditNoteRefused, type RefundLine } from '../../invoicing/credit-note-lines';
import { checkRefundCreditable, issueCreditNoteForRefund, issueInvoiceForOrder } from '../../invoicing/invoices';
import { PaymentProviderRejection, PaymentProviderUnavailable, type AuthorisationResult, type PaymentProvider } from '../../payments/provider';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import { traced } from '../../platform/telemetry';
import { reportOrderRefunded } from '../loyalty/report';

export interface PaymentActivityDeps {
  db: Database;
  /** Invoicing needs it: seller details, number prefixes, the PII keyring for the buyer block. */
  config: Config;
  logger: Logger;
  provider: PaymentProvider;
  /** To tell the customer's loyalty account about refunds (points are clawed back once per refund). */
  client?: Client;
}

export interface RefundPaymentInput {
  orderId: string;
  providerPaymentId: string;
  amount: number;
  currency: string;
  reason: string;
  idempotencyKey: string;
  /** The workflow's refund id; tasks scheduled before it was passed carry it in the key only. */
  refundId?: string;
  /** Units given back: the credit note credits them line by line. */
  lines?: RefundLine[];
}

/** `<workflowId>:refund:<refundId>`, where the workflow id ends with `payment-<orderId>`. */
function refundIdOf(input: RefundPaymentInput): string {
  if (input.refundId) return input.refundId;
  const marker = `payment-${input.orderId}:refund:`;
  const at = input.idempotencyKey.indexOf(marker);
  return at >= 0 ? input.idempotencyKey.slice(at + marker.length) : input.idempotencyKey;
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
export function createPaymentActivities({ db, config, logger, provider, client }: PaymentActivityDeps) {
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
      // Captured money is invoiced. Once per order: a retry of this activity finds the invoice issued.
      const invoiced = await traced('invoicing.issueInvoice', { 'comptoir.order_id': input.orderId }, () => issueInvoiceForOrder(db, config, input.orderId));
      if (invoiced.status === 'issued') logger.info({ orderId: input.orderId, invoice: invoiced.invoice.number }, 'invoice issued');
      if (invoiced.status === 'no_order') logger.warn({ orderId: input.orderId }, 'captured a payment of no known order: no invoice issued');
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
    async refundPayment(input: RefundPaymentInput): Promise<{ providerReference: string; posted: boolean }> {
      const refundId = refundIdOf(input);
      const creditRequest = { orderId: input.orderId, refundId, amount: input.amount, reason: input.reason, ...(input.lines ? { lines: input.lines } : {}) };
      // Before any money moves, the credit note must be possible as asked (lines on the invoice, units left).
      // Only for a refund not claimed yet: a retry after the provider paid must go on to its credit note.
      const [claimed] = await db.select({ id: refunds.id }).from(refunds).where(eq(refunds.idempotencyKey, input.idempotencyKey));
      if (!claimed) {
        try {
          await checkRefundCreditable(db, creditRequest);
        } catch (error) {
          if (!(error instanceof CreditNoteRefused)) throw error;
          throw ApplicationFailure.create({ message: `refund cannot be credited: ${error.field} ${error.message}`, type: 'RefundNotCreditable', nonRetryable: true, details: [{ field: error.field }] });
        }
      }
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
      // Refunded money is credited, once per refund id: a retry finds the credit note issued.
      const credited = await traced('invoicing.issueCreditNote', { 'comptoir.order_id': input.orderId }, () => issueCreditNoteForRefund(db, config, creditRequest));
      if (credited.status === 'issued') logger.info({ orderId: input.orderId, creditNote: credited.creditNote.number }, 'credit note issued');
      if (credited.status === 'no_invoice') logger.warn({ orderId: input.orderId }, 'refund of an order without an invoice: no credit note issued');
      if (client) {
        const order = await orderById(db, input.orderId);
        if (order) await reportOrderRefunded({ client, config }, { accountId: order.accountId, orderId: order.id, refundId, amount: input.amount });
      }
      return { providerReference, posted };
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { CarrierRejection, type Carrier, type CarrierAddress } from '../../fulfilment/carrier';
import { orderById } from '../../db/orders';
import { carrierFrom } from '../fulfilment/index';
import {
  closeReturn,
  recordInspection,
  recordRefundFailed,
  recordRefundSucceeded,
  recordReturnLabel,
  recordReturnReceived,
  restockAcceptedLines,
  returnById,
  returnLinesOf,
  type ReturnRow,
} from '../../db/returns';
import { piiFields } from '../../identity/pii-fields';
import { enqueueOrderEvent } from '../../notifications/order-events';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import { decryptPii } from '../../platform/pii';
import type { Database } from '../../platform/postgres';
import { checkInspection, paidFor } from '../../returns/rules';
import { paymentWorkflowId, refundPaymentUpdate, type RefundPaymentRequest } from '../../workflows/payments/definitions';
import { returnRefundId, type InspectionDecision, type ReturnStatus } from '../../workflows/returns/definitions';

export interface ReturnActivityDeps {
  db: Database;
  config: Config;
  logger: Logger;
  /** Refunds go through the payment workflow's `refundPayment` update. */
  client: Client;
  /** The carrier adapter; by default the one the fulfilment queue uses (CARRIER_URL / _API_KEY / _TIMEOUT_MS). */
  carrier?: Carrier;
}

const notFound = (returnId: string) => ApplicationFailure.nonRetryable(`no return ${returnId}`, 'ReturnNotFound');

/**
 * The steps of the `returnAndRefund` workflow. Each is idempotent: it moves the return forward only from
 * the status it expects and otherwise answers with what the first run did, so a retry after a worker
 * died mid-way repeats nothing — no second label, no second restock, no second refund, no second message.
 */
export function createReturnActivities({ db, config, logger, client, carrier = carrierFrom(config) }: ReturnActivityDeps) {
  async function load(returnId: string): Promise<ReturnRow> {
    const row = await returnById(db, returnId);
    if (!row) throw notFound(returnId);
    return row;
  }

  /** The address the parcel is collected from: the order's delivery address, opened here and never handed to Temporal. */
  async function customerAddress(orderId: string): Promise<CarrierAddress> {
    const order = await orderById(db, orderId);
    if (!order) throw ApplicationFailure.nonRetryable(`no order ${orderId}`, 'OrderNotFound');
    const opened = order.shippingAddressEnc ? (JSON.parse(decryptPii(config.pii.keyring, order.shippingAddressEnc, piiFields.orderShippingAddress.context(order.id))) as CarrierAddress | null) : null;
    // An order whose customer was erased keeps no address: nobody to collect a parcel from.
    if (!opened) throw ApplicationFailure.nonRetryable('the order has no delivery address any more', 'NoAddress');
    return opened;
  }

  return {
    /**
     * Books the return label with the carrier (idempotency key `<workflowId>:label`: a retry gets the same
     * booking back), then authorises the return and queues `return_authorised` in one transaction.
     */
    async bookReturnLabel(input: { returnId: string; returnBy: string }): Promise<{ carrierShipmentId: string; trackingNumber: string }> {
      const row = await load(input.returnId);
      if (row.carrierShipmentId && row.trackingNumber) return { carrierShipmentId: row.carrierShipmentId, trackingNumber: row.trackingNumber };
      if (row.status !== 'requested') throw ApplicationFailure.nonRetryable(`the return is ${row.status}`, 'ReturnClosed');
      const lines = await returnLinesOf(db, row.id);
      let booking;
      try {
        booking = await carrier.bookReturn(
          { returnId: row.id, orderId: row.orderId, from: await customerAddress(row.orderId), toLocation: row.location, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) },
          `${row.workflowId}:label`,
        );
      } catch (error) {
        if (error instanceof CarrierRejection) throw ApplicationFailure.create({ message: error.message, type: 'CarrierRejection', details: [{ code: error.code }], nonRetryable: true });
        throw error;
      }
      await db.transaction(async (tx) => {
        if (!(await recordReturnLabel(tx, row.id, booking))) return;
        await enqueueOrderEvent(tx, config, {
          orderId: row.orderId,
          accountId: row.accountId,
          event: 'return_authorised',
          data: { returnId: row.id, labelUrl: booking.labelUrl, returnBy: input.returnBy },
          dedupeKey: `return_authorised:${row.id}`,
        });
      });
      logger.info({ returnId: row.id, orderId: row.orderId, carrierShipmentId: booking.carrierShipmentId }, 'return authorised, label booked');
      return { carrierShipmentId: booking.carrierShipmentId, trackingNumber: booking.trackingNumber };
    },

    /** The parcel is back (carrier `delivered`, or ops said so): `received`, and `return_received` queued with it. */
    async recordReturnReceived(input: { returnId: string; via: 'carrier' | 'ops' }): Promise<{ changed: boolean }> {
      const row = await load(input.returnId);
      const changed = await db.transaction(async (tx) => {
        if (!(await recordReturnReceived(tx, row.id, input.via))) return false;
        await enqueueOrderEvent(tx, config, { orderId: row.orderId, accountId: row.accountId, event: 'return_received', data: { returnId: row.id }, dedupeKey: `return_received:${row.id}` });
        return true;
      });
      if (changed) logger.info({ returnId: row.id, via: input.via }, 'return parcel received');
      return { changed };
    },

    /** Nothing will come back (no parcel in time, label refused): the return ends with its reason. */
    async closeReturn(input: { returnId: string; status: 'expired' | 'cancelled'; reason: string }): Promise<{ changed: boolean }> {
      const changed = await closeReturn(db, input.returnId, input.status, input.reason);
      if (changed) logger.info({ returnId: input.returnId, status: input.status }, 'return closed');
      return { changed };
    },

    /**
     * Records the inspection and the refund it leads to: the accepted units' share of what was paid for
     * them, VAT included. Answers the recorded figures, the first time and on every retry.
     */
    async recordInspection(input: { returnId: string; decision: InspectionDecision }): Promise<{ status: ReturnStatus; refundAmount: number; accepted: { sku: string; quantity: number }[] }> {
      const row = await load(input.returnId);
      const lines = await returnLinesOf(db, row.id);
      const issues = checkInspection(lines, input.decision.lines);
      if (issues.length > 0) throw ApplicationFailure.nonRetryable(`inspection does not fit the return: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, 'InvalidInspection');
      const decided = new Map(input.decision.lines.map((line) => [line.sku, line]));
      const refundAmount = lines.reduce((sum, line) => sum + paidFor({ sku: line.sku, quantity: line.quantity, lineAmount: line.paidAmount }, decided.get(line.sku)!.accepted), 0);
      await db.transaction((tx) =>
        recordInspection(tx, row.id, { lines: input.decision.lines, note: input.decision.note ?? null, refundId: returnRefundId(row.id), refundAmount }),
      );
      // Whatever was recorded first is the answer (a retry with another decision cannot change it).
      const [after, afterLines] = await Promise.all([load(row.id), returnLinesOf(db, row.id)]);
      return {
        status: after.status,
        refundAmount: after.refundAmount ?? 0,
        accepted: afterLines.filter((line) => (line.acceptedQuantity ?? 0) > 0).map((line) => ({ sku: line.sku, quantity: line.acceptedQuantity! })),
      };
    },

    /** Accepted units go back on hand at the return's location, each line once however often this runs. */
    async restockReturn(input: { returnId: string }): Promise<{ restocked: { sku: string; quantity: number }[] }> {
      const row = await load(input.returnId);
      const restocked = await db.transaction((tx) => restockAcceptedLines(tx, row.id, row.location));
      if (restocked.length > 0) logger.info({ returnId: row.id, location: row.location, restocked }, 'returned units restocked');
      return { restocked };
    },

    /**
     * Refunds the accepted lines through the order's payment workflow (`refundPayment`, refund id
     * `return-<returnId>`: asked again, it answers its first result), which never refunds more than was
     * captured and issues the credit note. The outcome is recorded with `refund_issued` in one transaction.
     */
    async refundReturn(input: { returnId: string }): Promise<{ status: 'succeeded' | 'failed'; amount: number; failure?: string }> {
      const row = await load(input.returnId);
      const amount = row.refundAmount ?? 0;
      const refundId = row.refundId ?? returnRefundId(row.id);
      if (row.status === 'refunded') return { status: 'succeeded', amount };
      if (row.status === 'refund_failed') return { status: 'failed', amount, failure: row.statusReason ?? 'refund_failed' };
      if (row.status !== 'inspected' || amount <= 0) throw ApplicationFailure.nonRetryable(`the return is ${row.status}: nothing to refund`, 'NothingToRefund');
      const lines = (await returnLinesOf(db, row.id)).filter((line) => (line.acceptedQuantity ?? 0) > 0).map((line) => ({ sku: line.sku, quantity: line.acceptedQuantity! }));
      // The lines make the credit note credit the accepted units themselves, at their invoiced value.
      const request: RefundPaymentRequest = { refundId, amount, reason: `return ${row.id}`, lines };

      let outcome: { status: 'succeeded' | 'failed'; failure?: string };
      try {
        const result = await client.workflow.getHandle(paymentWorkflowId(config.TASK_QUEUE_PREFIX, row.orderId)).executeUpdate(refundPaymentUpdate, { args: [request], updateId: refundId });
        outcome = result.status === 'succeeded' ? { status: 'succeeded' } : { status: 'failed', failure: result.failure ?? 'refund_failed' };
      } catch (error) {
        // Refused by the payment workflow (more than is left to refund, payment not captured) or the
        // payment is over: a decision for ops, not something a retry would change.
        if (error instanceof WorkflowUpdateFailedError) outcome = { status: 'failed', failure: `refused: ${error.cause?.message ?? error.message}`.slice(0, 300) };
        else if (error instanceof WorkflowNotFoundError) outcome = { status: 'failed', failure: 'the payment workflow has ended (refund window over)' };
        else throw error;
      }

      await db.transaction(async (tx) => {
        if (outcome.status === 'failed') {
          await recordRefundFailed(tx, row.id, outcome.failure ?? 'refund_failed');
          return;
        }
        if (!(await recordRefundSucceeded(tx, row.id))) return;
        await enqueueOrderEvent(tx, config, {
          orderId: row.orderId,
          accountId: row.accountId,
          event: 'refund_issued',
          data: { refundId, amount, currency: row.currency, returnId: row.id },
          dedupeKey: `refund_issued:${refundId}`,
        });
      });
      if (outcome.status === 'succeeded') logger.info({ returnId: row.id, orderId: row.orderId, refundId, amount }, 'return refunded');
      else logger.warn({ returnId: row.id, orderId: row.orderId, refundId, failure: outcome.failure }, 'return refund failed: ops to decide');
      return { ...outcome, amount };
    },
  };
}

export type ReturnActivities = ReturnType<typeof createReturnActivities>;

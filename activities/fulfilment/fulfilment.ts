/**
 * The steps of the `fulfilment` workflow. Each is idempotent — a retry after a worker died mid-way finds
 * its work done and repeats nothing (no second shipment, booking, stock movement, message or refund):
 * - planning is made once per order (unique shipments per order, location and attempt);
 * - a booking carries an idempotency key built from the workflow id and the shipment, so the carrier
 *   replays its first booking, and the shipment keeps the first booking it got;
 * - a carrier event is kept once per (shipment, event id), and the status change, the order's status and
 *   the customer's message are written in that same transaction, or not at all;
 * - restocks and replacement units are claimed on the shipment row in the transaction that moves them;
 * - a refund carries a refund id per shipment, which the payment workflow answers once.
 * test/fulfilment/fulfilment-activities.test.ts runs each twice and checks nothing happened twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  cancelShipmentRow,
  cancelUndeliveredOrder,
  claimRestock,
  completeOrder,
  markOrderShipped,
  NothingToShip,
  planShipments,
  recordBooking,
  recordTrackingEvent,
  replaceShipment,
  setShipmentAttention,
  shipmentById,
  type ShipmentWithLines,
} from '../../db/fulfilment';
import { commitReservation } from '../../db/inventory-reservations';
import { receiveStock, takeAvailableUnits, UnitsUnavailable } from '../../db/inventory';
import { orderById, orderLinesOf } from '../../db/orders';
import { ledgerBalance } from '../../db/payments';
import { isLoyaltyCurrency } from '../../loyalty/rules';
import { reportOrderDelivered } from '../loyalty/report';
import type { ShipmentAttention, ShipmentStatus } from '../../db/schema/fulfilment';
import { CarrierRejection, type Carrier, type CarrierAddress, type CarrierBooking, type CarrierTrackingEvent, type ParcelLine } from '../../fulfilment/carrier';
import { piiFields } from '../../identity/pii-fields';
import { enqueueOrderEvent } from '../../notifications/order-events';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import { decryptPii } from '../../platform/pii';
import type { Database } from '../../platform/postgres';
import { paidFor } from '../../returns/rules';
import { paymentWorkflowId, refundPaymentUpdate, type RefundPaymentRequest } from '../../workflows/payments/definitions';
import type { ParcelStage } from '../../workflows/fulfilment/tracking';

export interface FulfilmentActivityDeps {
  db: Database;
  config: Config;
  logger: Logger;
  /** Refunds go through the payment workflow's `refundPayment` update. */
  client: Client;
  carrier: Carrier;
}

/** A shipment as the workflow carries it: ids, where from, what, and the booking once made. No address. */
export interface PlannedShipment {
  shipmentId: string;
  fromLocation: string;
  attempt: number;
  replacesShipmentId?: string;
  lines: ParcelLine[];
  status: ShipmentStatus;
  booking?: CarrierBooking;
}

const planned = (row: ShipmentWithLines): PlannedShipment => ({
  shipmentId: row.id,
  fromLocation: row.fromLocation,
  attempt: row.attempt,
  ...(row.replacesShipmentId ? { replacesShipmentId: row.replacesShipmentId } : {}),
  lines: row.lines,
  status: row.status,
  ...(row.carrierShipmentId && row.trackingNumber && row.labelUrl
    ? { booking: { carrierShipmentId: row.carrierShipmentId, trackingNumber: row.trackingNumber, labelUrl: row.labelUrl } }
    : {}),
});

export interface TrackingEventInput {
  orderId: string;
  accountId: string;
  shipmentId: string;
  event: CarrierTrackingEvent;
  applied: boolean;
  statusAfter: ShipmentStatus;
  /** Stages the event moved the parcel past (picked_up → the order ships, out_for_delivery, delivered → the customer is told). */
  passed: ParcelStage[];
  exception: boolean;
  attention?: ShipmentAttention | null;
  trackingNumber?: string;
}

/** Units the carrier has (or lost): a replacement must come from the shelf. Before pick-up, the units are still ours to reuse. */
const carrierHoldsUnits = (status: ShipmentStatus, pickedUp: boolean) => pickedUp && status !== 'returned_to_sender';

export function createFulfilmentActivities({ db, config, logger, client, carrier }: FulfilmentActivityDeps) {
  async function loadShipment(shipmentId: string): Promise<ShipmentWithLines> {
    const row = await shipmentById(db, shipmentId);
    if (!row) throw ApplicationFailure.nonRetryable(`no shipment ${shipmentId}`, 'ShipmentNotFound');
    return row;
  }

  return {
    /** One shipment per stock location of the order's reservation; made once. */
    async planShipments(input: { orderId: string }): Promise<PlannedShipment[]> {
      try {
        const rows = await planShipments(db, input.orderId);
        logger.info({ orderId: input.orderId, shipments: rows.length, locations: rows.map((r) => r.fromLocation) }, 'shipments planned');
        return rows.map(planned);
      } catch (error) {
        if (error instanceof NothingToShip) throw ApplicationFailure.nonRetryable(error.message, 'NothingToShip');
        throw error;
      }
    },

    /**
     * Books the parcel with the carrier, or answers the booking it already has. The address is read from
     * the order (encrypted at rest) here, so it never enters a workflow history.
     */
    async bookShipment(input: { orderId: string; shipmentId: string; idempotencyKey: string }): Promise<CarrierBooking> {
      const shipment = await loadShipment(input.shipmentId);
      if (shipment.carrierShipmentId && shipment.trackingNumber && shipment.labelUrl) {
        return { carrierShipmentId: shipment.carrierShipmentId, trackingNumber: shipment.trackingNumber, labelUrl: shipment.labelUrl };
      }
      const order = await orderById(db, input.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${input.orderId}`, 'OrderNotFound');
      if (!order.shippingAddressEnc) throw ApplicationFailure.nonRetryable('the order has no shipping address (erased?)', 'AddressMissing');
      const to = JSON.parse(decryptPii(config.pii.keyring, order.shippingAddressEnc, piiFields.orderShippingAddress.context(order.id))) as CarrierAddress | null;
      if (!to) throw ApplicationFailure.nonRetryable('the order has no shipping address', 'AddressMissing');
      let booking: CarrierBooking;
      try {
        booking = await carrier.bookShipment(
          { orderId: order.id, shipmentId: shipment.id, fromLocation: shipment.fromLocation, to, lines: shipment.lines, service: order.shippingMethod === 'express' ? 'express' : 'standard' },
          input.idempotencyKey,
        );
      } catch (error) {
        // A refusal is for ops (bad address, unknown location); an outage is the retry policy's.
        if (error instanceof CarrierRejection) throw ApplicationFailure.nonRetryable(error.message, 'CarrierRejected', error.code);
        throw error;
      }
      await recordBooking(db, { shipmentId: shipment.id, carrier: carrier.name, booking });
      logger.info({ orderId: order.id, shipmentId: shipment.id, carrierShipmentId: booking.carrierShipmentId }, 'shipment booked');
      return booking;
    },

    /**
     * Every parcel of the order has a label: the reserved units leave the shelf (on hand and reserved go
     * down). Once: a committed reservation is not committed again.
     */
    async commitOrderStock(input: { orderId: string }): Promise<{ committed: number }> {
      const settlement = await commitReservation(db, input.orderId);
      if (settlement.settled.length > 0) logger.info({ orderId: input.orderId, units: settlement.settled.length }, 'reservation committed');
      return { committed: settlement.settled.reduce((sum, unit) => sum + unit.quantity, 0) };
    },

    /**
     * One carrier event, as the workflow's state machine judged it: kept, and when it moved the parcel the
     * shipment's status, the order's SHIPPED, and the customer's message — all in one transaction.
     */
    async recordTrackingEvent(input: TrackingEventInput): Promise<{ recorded: boolean; orderShipped: boolean }> {
      const { event } = input;
      const passedPickup = input.passed.includes('picked_up');
      const result = await db.transaction(async (tx) => {
        const recorded = await recordTrackingEvent(tx, {
          shipmentId: input.shipmentId,
          orderId: input.orderId,
          eventId: event.id,
          type: event.type,
          occurredAt: new Date(event.occurredAt),
          applied: input.applied,
          statusAfter: input.statusAfter,
          ...(event.data.detail ? { detail: event.data.detail.slice(0, 500) } : {}),
          ...(input.attention !== undefined ? { attention: input.attention } : {}),
          ...(passedPickup ? { pickedUp: new Date(event.occurredAt) } : {}),
        });
        if (!recorded || !input.applied) return { recorded, orderShipped: false };
        const base = { orderId: input.orderId, accountId: input.accountId };
        const trackingNumber = input.trackingNumber ?? event.data.trackingNumber;
        let orderShipped = false;
        if (passedPickup) {
          orderShipped = await markOrderShipped(tx, config, input.orderId);
          await enqueueOrderEvent(tx, config, { ...base, event: 'order_shipped', data: { shipmentId: input.shipmentId, trackingNumber, carrier: carrier.name }, dedupeKey: `order_shipped:${input.shipmentId}` });
        }
        // A parcel delivered without "out for delivery" ever arriving is not announced as on its way afterwards.
        if (input.passed.includes('out_for_delivery') && !input.passed.includes('delivered')) {
          await enqueueOrderEvent(tx, config, { ...base, event: 'order_out_for_delivery', data: { shipmentId: input.shipmentId, trackingNumber }, dedupeKey: `order_out_for_delivery:${input.shipmentId}` });
        }
        if (input.passed.includes('delivered')) {
          await enqueueOrderEvent(tx, config, { ...base, event: 'order_delivered', data: { shipmentId: input.shipmentId }, dedupeKey: `order_delivered:${input.shipmentId}` });
        }
        if (input.exception) {
          await enqueueOrderEvent(tx, config, { ...base, event: 'shipment_exception', data: { shipmentId: input.shipmentId, trackingNumber }, dedupeKey: `shipment_exception:${input.shipmentId}:${event.id}` });
        }
        return { recorded, orderShipped };
      });
      if (result.orderShipped) logger.info({ orderId: input.orderId, shipmentId: input.shipmentId }, 'order shipped');
      return result;
    },

    /** Flags (or clears) why a shipment waits for ops; the ops list and the tracking view read it. */
    async flagShipment(input: { shipmentId: string; attention: ShipmentAttention | null }): Promise<void> {
      await setShipmentAttention(db, input.shipmentId, input.attention);
      if (input.attention) logger.warn({ shipmentId: input.shipmentId, attention: input.attention }, 'shipment escalated to ops');
    },

    /**
     * Ops chose to reship: a replacement shipment (next attempt, same location and lines), the old one
     * cancelled. Units the carrier holds are replaced from available stock (never from units promised to
     * other orders: `ReplacementUnavailable` then, for ops); units never collected are simply reused, and
     * units returned to sender go back on hand and out again, which changes nothing.
     */
    async reshipShipment(input: { orderId: string; shipmentId: string }): Promise<PlannedShipment> {
      const old = await loadShipment(input.shipmentId);
      try {
        const replacement = await db.transaction(async (tx) => {
          const { replacement, created } = await replaceShipment(tx, old.id);
          if (created && carrierHoldsUnits(old.status, old.pickedUpAt !== null)) {
            await takeAvailableUnits(tx, replacement.lines.map((line) => ({ ...line, location: replacement.fromLocation })));
          }
          return replacement;
        });
        logger.info({ orderId: input.orderId, shipmentId: old.id, replacementId: replacement.id }, 'shipment reshipped');
        return planned(replacement);
      } catch (error) {
        if (error instanceof UnitsUnavailable) throw ApplicationFailure.nonRetryable(error.message, 'ReplacementUnavailable');
        throw error;
      }
    },

    /**
     * Ops chose to give the parcel up and refund it: the shipment is cancelled, units still ours (never
     * collected, or returned to sender) go back on hand once, and what was paid for its lines is refunded
     * through the payment workflow under the refund id `shipment-<shipmentId>` (answered once).
     */
    async refundShipment(input: { orderId: string; shipmentId: string; reason: string }): Promise<{ status: 'succeeded' | 'failed'; amount: number; failure?: string }> {
      const shipment = await loadShipment(input.shipmentId);
      const order = await orderById(db, input.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${input.orderId}`, 'OrderNotFound');
      await db.transaction(async (tx) => {
        await cancelShipmentRow(tx, shipment.id);
        const unitsAreOurs = shipment.pickedUpAt === null || shipment.status === 'returned_to_sender';
        if (unitsAreOurs && (await claimRestock(tx, shipment.id))) {
          await receiveStock(tx, shipment.lines.map((line) => ({ ...line, location: shipment.fromLocation })));
        }
      });
      const bought = await orderLinesOf(db, order.id);
      const amount = shipment.lines.reduce((sum, line) => {
        const orderLine = bought.find((b) => b.sku === line.sku);
        return sum + (orderLine ? paidFor(orderLine, line.quantity) : 0);
      }, 0);
      if (amount === 0) return { status: 'succeeded', amount };
      const refundId = `shipment-${shipment.id}`;
      const request: RefundPaymentRequest = { refundId, amount, reason: input.reason.slice(0, 200) };
      try {
        const result = await client.workflow.getHandle(paymentWorkflowId(config.TASK_QUEUE_PREFIX, order.id)).executeUpdate(refundPaymentUpdate, { args: [request], updateId: refundId });
        if (result.status !== 'succeeded') return { status: 'failed', amount, failure: result.failure ?? 'refund_failed' };
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) return { status: 'failed', amount, failure: `refused: ${error.cause?.message ?? error.message}`.slice(0, 300) };
        if (error instanceof WorkflowNotFoundError) return { status: 'failed', amount, failure: 'the payment workflow has ended (refund window over)' };
        throw error;
      }
      await db.transaction((tx) =>
        enqueueOrderEvent(tx, config, {
          orderId: order.id,
          accountId: order.accountId,
          event: 'refund_issued',
          data: { refundId, amount, currency: order.currency },
          dedupeKey: `refund_issued:${refundId}`,
        }),
      );
      logger.info({ orderId: order.id, shipmentId: shipment.id, refundId, amount }, 'undelivered shipment refunded');
      return { status: 'succeeded', amount };
    },

    /** Every parcel is settled and at least one arrived: COMPLETED, `delivered_at`, and the return window. */
    async completeOrder(input: { orderId: string; deliveredAt: string; returnWindowEndsAt: string }): Promise<{ changed: boolean }> {
      const changed = await db.transaction((tx) =>
        completeOrder(tx, config, { orderId: input.orderId, deliveredAt: new Date(input.deliveredAt), returnWindowEndsAt: new Date(input.returnWindowEndsAt), reason: 'every parcel delivered' }),
      );
      if (changed) logger.info({ orderId: input.orderId }, 'order completed');
      // Told on every attempt, not only the one that wrote COMPLETED: a retry after a crash must still tell,
      // and the loyalty account earns once per order however often it hears it.
      const order = await orderById(db, input.orderId);
      if (order?.status === 'COMPLETED' && order.deliveredAt && isLoyaltyCurrency(order.currency)) {
        const captured = (await ledgerBalance(db, order.id))?.captured ?? 0;
        await reportOrderDelivered({ client, config }, { accountId: order.accountId, orderId: order.id, amount: captured, currency: order.currency, deliveredAt: order.deliveredAt.toISOString() });
      }
      return { changed };
    },

    /** Nothing arrived and ops refunded every parcel: the order ends CANCELLED. */
    async cancelUndeliveredOrder(input: { orderId: string }): Promise<{ changed: boolean }> {
      const changed = await db.transaction((tx) => cancelUndeliveredOrder(tx, config, { orderId: input.orderId, reason: 'no parcel delivered; refunded' }));
      return { changed };
    },
  };
}

export type FulfilmentActivities = ReturnType<typeof createFulfilmentActivities>;

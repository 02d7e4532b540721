import { ApplicationFailure } from '@temporalio/common';
import {
  commitReservation,
  expireStaleReservations,
  extendReservation,
  InsufficientStock,
  InvalidReservation,
  releaseReservation,
  ReservationMismatch,
  reserveStock,
  type OrderReservation,
  type Settlement,
} from '../../db/inventory-reservations';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import { traced } from '../../platform/telemetry';
import type {
  InventoryReservation,
  InventorySettlement,
  ReservationSweepResult,
  ReserveInventoryInput,
} from '../../workflows/inventory/definitions';

export interface ReservationActivityDeps {
  db: Database;
  logger: Logger;
}

const toPlain = (reservation: OrderReservation): InventoryReservation => ({ ...reservation, expiresAt: reservation.expiresAt.toISOString() });
const settlementOf = (settlement: Settlement): InventorySettlement => ({
  ...settlement,
  units: settlement.settled.reduce((sum, unit) => sum + unit.quantity, 0),
});

/** Business refusals are final: retrying cannot make stock appear or an order's lines change. */
function asFailure(error: unknown): unknown {
  if (error instanceof InsufficientStock) {
    return ApplicationFailure.create({ message: error.message, type: 'InsufficientStock', nonRetryable: true, details: [{ shortages: error.shortages }] });
  }
  if (error instanceof ReservationMismatch) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'ReservationMismatch',
      nonRetryable: true,
      details: [{ orderId: error.orderId, held: error.held, requested: error.requested }],
    });
  }
  if (error instanceof InvalidReservation) return ApplicationFailure.create({ message: error.message, type: 'InvalidReservation', nonRetryable: true });
  return error;
}

/**
 * The inventory activities checkout, cancellation, fulfilment and the expiry sweep call. Each is
 * idempotent per order: a retry after a crash finds the work done and changes nothing.
 */
export function createReservationActivities({ db, logger }: ReservationActivityDeps) {
  return {
    /**
     * Reserves every line of the order or nothing. A second call for the same order returns the
     * reservation already made (`created: false`); a reservation released since is not reopened, its
     * `state` says so. Lack of stock: non-retryable `InsufficientStock` with `{ shortages }` in details.
     */
    async reserveInventory(input: ReserveInventoryInput): Promise<InventoryReservation> {
      try {
        const reservation = await traced('db.reserveStock', { 'comptoir.order_id': input.orderId, 'comptoir.lines': input.lines.length }, () =>
          reserveStock(db, input.orderId, input.lines, { ttlSeconds: input.ttlSeconds }),
        );
        if (reservation.created) logger.info({ orderId: input.orderId, lines: reservation.lines }, 'inventory reserved');
        return toPlain(reservation);
      } catch (error) {
        throw asFailure(error);
      }
    },

    /** Gives the order's units back once; releasing again (or an order that reserved nothing) changes nothing. */
    async releaseInventory(input: { orderId: string; reason: string }): Promise<InventorySettlement> {
      const result = await traced('db.releaseReservation', { 'comptoir.order_id': input.orderId }, () => releaseReservation(db, input.orderId, input.reason));
      if (result.settled.length > 0) logger.info({ orderId: input.orderId, reason: input.reason, units: result.settled }, 'inventory released');
      return settlementOf(result);
    },

    /**
     * The order shipped: its units leave the stock, once. A reservation already released (expired,
     * cancelled) cannot ship: non-retryable `ReservationReleased`; none at all: `ReservationNotFound`.
     */
    async commitInventory(input: { orderId: string }): Promise<InventorySettlement> {
      const result = await traced('db.commitReservation', { 'comptoir.order_id': input.orderId }, () => commitReservation(db, input.orderId));
      if (result.state === 'none') {
        throw ApplicationFailure.create({ message: `order ${input.orderId} has no inventory reservation`, type: 'ReservationNotFound', nonRetryable: true });
      }
      if (result.state === 'released') {
        throw ApplicationFailure.create({ message: `the reservation of order ${input.orderId} was released before it shipped`, type: 'ReservationReleased', nonRetryable: true });
      }
      if (result.settled.length > 0) logger.info({ orderId: input.orderId, units: result.settled }, 'inventory committed');
      return settlementOf(result);
    },

    /**
     * Keeps the order's units held until `until` (ISO 8601; take it from workflow time). Never shortens
     * a hold. A reservation already released cannot be extended: non-retryable `ReservationReleased`.
     */
    async extendInventoryReservation(input: { orderId: string; until: string }): Promise<InventoryReservation> {
      const result = await traced('db.extendReservation', { 'comptoir.order_id': input.orderId }, () => extendReservation(db, input.orderId, new Date(input.until)));
      if (!result) {
        throw ApplicationFailure.create({ message: `order ${input.orderId} has no inventory reservation`, type: 'ReservationNotFound', nonRetryable: true });
      }
      if (result.state === 'released') {
        throw ApplicationFailure.create({ message: `the reservation of order ${input.orderId} was released`, type: 'ReservationReleased', nonRetryable: true });
      }
      return toPlain(result);
    },

    /** Releases up to `limit` orders' holds that are past their expiry (by this worker's clock). */
    async expireStaleReservations(input: { limit: number }): Promise<ReservationSweepResult> {
      const result = await traced('db.expireStaleReservations', { 'comptoir.limit': input.limit }, () => expireStaleReservations(db, new Date(), input.limit));
      if (result.orders.length > 0) logger.info({ orders: result.orders, units: result.units }, 'stale inventory reservations released');
      return { orders: result.orders.length, units: result.units, more: result.more };
    },
  };
}

export type ReservationActivities = ReturnType<typeof createReservationActivities>;

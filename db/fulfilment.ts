/**
 * Shipments, their lines and the carrier events taken for them (schema `fulfilment`), and the order
 * changes fulfilment makes (SHIPPED, COMPLETED with the return window). Every write is idempotent: the
 * fulfilment workflow's activities are retried, and a retry must find its work done, not do it twice.
 */
import { and, asc, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { CarrierBooking, ParcelLine } from '../fulfilment/carrier';
import type { Executor } from '../platform/postgres';
import type { Config } from '../platform/config';
import { reservationOf } from './inventory-reservations';
import { setOrderStatus } from './orders';
import { shipmentLines, shipments, trackingEvents, type ShipmentAttention, type ShipmentStatus } from './schema/fulfilment';
import { orderRecords, type OrderStatus } from './schema/orders';

export type ShipmentRow = typeof shipments.$inferSelect;
export type TrackingEventRow = typeof trackingEvents.$inferSelect;
export type ShipmentWithLines = ShipmentRow & { lines: ParcelLine[] };

/** The order has nothing to ship: no reservation, or its units were given back (cancelled, expired). */
export class NothingToShip extends Error {
  override readonly name = 'NothingToShip';
}

export class ShipmentNotFound extends Error {
  override readonly name = 'ShipmentNotFound';
}

/** Serialises the planning of one order's shipments (a retried activity racing its first attempt). */
async function lockOrderShipments(tx: Executor, orderId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`fulfilment.shipments:${orderId}`}, 0))`);
}

async function withLines(db: Executor, rows: ShipmentRow[]): Promise<ShipmentWithLines[]> {
  if (rows.length === 0) return [];
  const lines = await db
    .select()
    .from(shipmentLines)
    .where(inArray(shipmentLines.shipmentId, rows.map((r) => r.id)))
    .orderBy(asc(shipmentLines.sku));
  return rows.map((row) => ({ ...row, lines: lines.filter((l) => l.shipmentId === row.id).map(({ sku, quantity }) => ({ sku, quantity })) }));
}

export async function shipmentsOfOrder(db: Executor, orderId: string): Promise<ShipmentWithLines[]> {
  const rows = await db.select().from(shipments).where(eq(shipments.orderId, orderId)).orderBy(asc(shipments.createdAt), asc(shipments.fromLocation), asc(shipments.attempt));
  return withLines(db, rows);
}

export async function shipmentById(db: Executor, shipmentId: string): Promise<ShipmentWithLines | undefined> {
  const [row] = await db.select().from(shipments).where(eq(shipments.id, shipmentId));
  return row ? (await withLines(db, [row]))[0] : undefined;
}

/**
 * One shipment per stock location the order's units are reserved at (several locations → a split
 * shipment), made once: a second call returns the shipments the first made.
 */
export async function planShipments(db: Executor, orderId: string): Promise<ShipmentWithLines[]> {
  return db.transaction(async (tx) => {
    await lockOrderShipments(tx, orderId);
    const existing = await shipmentsOfOrder(tx, orderId);
    if (existing.length > 0) return existing;
    const reservation = await reservationOf(tx, orderId);
    if (!reservation || reservation.state === 'released') throw new NothingToShip(`order ${orderId} holds no stock to ship (${reservation?.state ?? 'no reservation'})`);
    const byLocation = new Map<string, ParcelLine[]>();
    for (const unit of reservation.lines) byLocation.set(unit.location, [...(byLocation.get(unit.location) ?? []), { sku: unit.sku, quantity: unit.quantity }]);
    for (const [fromLocation, lines] of [...byLocation].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const [row] = await tx.insert(shipments).values({ orderId, fromLocation, attempt: 1 }).returning({ id: shipments.id });
      await tx.insert(shipmentLines).values(lines.map((line) => ({ shipmentId: row!.id, ...line })));
    }
    return shipmentsOfOrder(tx, orderId);
  });
}

/** The carrier booked the parcel: kept once (a retry with the same booking changes nothing). */
export async function recordBooking(db: Executor, input: { shipmentId: string; carrier: string; booking: CarrierBooking }): Promise<void> {
  await db
    .update(shipments)
    .set({
      status: 'booked',
      carrier: input.carrier,
      carrierShipmentId: input.booking.carrierShipmentId,
      trackingNumber: input.booking.trackingNumber,
      labelUrl: input.booking.labelUrl,
      bookedAt: sql`now()`,
      attention: null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(shipments.id, input.shipmentId), eq(shipments.status, 'planned')));
}

export async function setShipmentAttention(db: Executor, shipmentId: string, attention: ShipmentAttention | null): Promise<void> {
  await db.update(shipments).set({ attention, updatedAt: sql`now()` }).where(eq(shipments.id, shipmentId));
}

/**
 * The parcel that replaces `shipmentId` (a reship): the next attempt from the same location with the same
 * lines, and the old one cancelled — made once; a retry returns the replacement already made.
 */
export async function replaceShipment(tx: Executor, shipmentId: string): Promise<{ replacement: ShipmentWithLines; created: boolean }> {
  const [old] = await tx.select().from(shipments).where(eq(shipments.id, shipmentId)).for('update');
  if (!old) throw new ShipmentNotFound(`no shipment ${shipmentId}`);
  const [made] = await tx.select().from(shipments).where(eq(shipments.replacesShipmentId, shipmentId));
  if (made) return { replacement: (await withLines(tx, [made]))[0]!, created: false };
  const [last] = await tx
    .select({ attempt: sql<number>`max(${shipments.attempt})::int` })
    .from(shipments)
    .where(and(eq(shipments.orderId, old.orderId), eq(shipments.fromLocation, old.fromLocation)));
  const [row] = await tx
    .insert(shipments)
    .values({ orderId: old.orderId, fromLocation: old.fromLocation, attempt: (last?.attempt ?? old.attempt) + 1, replacesShipmentId: old.id })
    .returning();
  const lines = await tx.select().from(shipmentLines).where(eq(shipmentLines.shipmentId, old.id));
  await tx.insert(shipmentLines).values(lines.map(({ sku, quantity }) => ({ shipmentId: row!.id, sku, quantity })));
  await cancelShipmentRow(tx, old.id);
  return { replacement: (await withLines(tx, [row!]))[0]!, created: true };
}

/** Marks the shipment cancelled (nothing more is expected of it); true when this call did. */
export async function cancelShipmentRow(tx: Executor, shipmentId: string): Promise<boolean> {
  const rows = await tx
    .update(shipments)
    .set({ status: 'cancelled', attention: null, cancelledAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(shipments.id, shipmentId), sql`${shipments.status} NOT IN ('cancelled', 'delivered')`))
    .returning({ id: shipments.id });
  return rows.length > 0;
}

/** Claims the shipment's units for a restock, once: true when this call claimed them (the caller puts them back in the same transaction). */
export async function claimRestock(tx: Executor, shipmentId: string): Promise<boolean> {
  const rows = await tx
    .update(shipments)
    .set({ restockedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(shipments.id, shipmentId), isNull(shipments.restockedAt)))
    .returning({ id: shipments.id });
  return rows.length > 0;
}

export interface TrackingRecord {
  shipmentId: string;
  orderId: string;
  eventId: string;
  type: string;
  occurredAt: Date;
  applied: boolean;
  statusAfter: ShipmentStatus;
  detail?: string;
  attention?: ShipmentAttention | null;
  /** Set when this event shows the parcel left (it passed `picked_up`): when, by the carrier's clock. */
  pickedUp?: Date;
}

/**
 * Keeps one carrier event and, when it moved the parcel, the shipment's new status. Returns false when
 * the event was kept before (a retry): the caller then queues nothing again.
 */
export async function recordTrackingEvent(tx: Executor, record: TrackingRecord): Promise<boolean> {
  const inserted = await tx
    .insert(trackingEvents)
    .values({
      shipmentId: record.shipmentId,
      orderId: record.orderId,
      eventId: record.eventId,
      type: record.type,
      occurredAt: record.occurredAt,
      applied: record.applied ? 'applied' : 'ignored',
      statusAfter: record.statusAfter,
      detail: record.detail ?? null,
    })
    .onConflictDoNothing({ target: [trackingEvents.shipmentId, trackingEvents.eventId] })
    .returning({ id: trackingEvents.id });
  if (inserted.length === 0) return false;
  if (record.applied) {
    await tx
      .update(shipments)
      .set({
        status: record.statusAfter,
        ...(record.statusAfter === 'exception' ? { exceptionDetail: record.detail ?? null } : {}),
        ...(record.attention !== undefined ? { attention: record.attention } : {}),
        ...(record.pickedUp ? { pickedUpAt: sql`coalesce(${shipments.pickedUpAt}, ${record.pickedUp.toISOString()}::timestamptz)` } : {}),
        deliveredAt: record.statusAfter === 'delivered' ? record.occurredAt : shipments.deliveredAt,
        updatedAt: sql`now()`,
      })
      // A cancelled shipment keeps its status: the carrier's late news is recorded, not obeyed.
      .where(and(eq(shipments.id, record.shipmentId), sql`${shipments.status} <> 'cancelled'`));
  }
  return true;
}

/** The shipment a carrier event is about: by our id (the booking reference), else by the carrier's id. */
export async function shipmentOfCarrierEvent(db: Executor, input: { reference: string; carrierShipmentId: string }): Promise<ShipmentRow | undefined> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (uuid.test(input.reference)) {
    const [row] = await db.select().from(shipments).where(eq(shipments.id, input.reference));
    if (row) return row;
  }
  const [row] = await db.select().from(shipments).where(eq(shipments.carrierShipmentId, input.carrierShipmentId)).limit(1);
  return row;
}

/** Tracking events of an order newer than `afterId`, oldest first: the SSE stream's `event: tracking`. */
export async function trackingEventsAfter(db: Executor, orderId: string, afterId: number, limit = 100): Promise<TrackingEventRow[]> {
  return db
    .select()
    .from(trackingEvents)
    .where(and(eq(trackingEvents.orderId, orderId), gt(trackingEvents.id, afterId), eq(trackingEvents.applied, 'applied')))
    .orderBy(asc(trackingEvents.id))
    .limit(limit);
}

export async function trackingEventsOfOrder(db: Executor, orderId: string): Promise<TrackingEventRow[]> {
  return db.select().from(trackingEvents).where(eq(trackingEvents.orderId, orderId)).orderBy(asc(trackingEvents.id));
}

export async function latestTrackingEventId(db: Executor, orderId: string): Promise<number> {
  const [row] = await db.select({ id: trackingEvents.id }).from(trackingEvents).where(eq(trackingEvents.orderId, orderId)).orderBy(desc(trackingEvents.id)).limit(1);
  return row?.id ?? 0;
}

/** Statuses an order may move to SHIPPED or COMPLETED from: never back from an end, never over a cancellation. */
const shippable: OrderStatus[] = ['PAID', 'CONFIRMED'];
const completable: OrderStatus[] = ['PAID', 'CONFIRMED', 'SHIPPED'];

async function lockedOrder(tx: Executor, orderId: string) {
  const [order] = await tx.select({ status: orderRecords.status, accountId: orderRecords.accountId }).from(orderRecords).where(eq(orderRecords.id, orderId)).for('update');
  return order;
}

/** The first parcel left: the order is SHIPPED (once; later parcels and retries change nothing). */
export async function markOrderShipped(tx: Executor, config: Pick<Config, 'pii'>, orderId: string): Promise<boolean> {
  const order = await lockedOrder(tx, orderId);
  if (!order || !shippable.includes(order.status)) return false;
  return setOrderStatus(tx, config, orderId, 'SHIPPED', 'first parcel picked up by the carrier');
}

/** Every parcel arrived: COMPLETED, with when, and the return window from then. */
export async function completeOrder(
  tx: Executor,
  config: Pick<Config, 'pii'>,
  input: { orderId: string; deliveredAt: Date; returnWindowEndsAt: Date; reason: string },
): Promise<boolean> {
  const order = await lockedOrder(tx, input.orderId);
  if (!order || !completable.includes(order.status)) return false;
  await tx.update(orderRecords).set({ deliveredAt: input.deliveredAt, returnWindowEndsAt: input.returnWindowEndsAt }).where(eq(orderRecords.id, input.orderId));
  return setOrderStatus(tx, config, input.orderId, 'COMPLETED', input.reason);
}

/** No parcel arrived and ops refunded them all: the order ends CANCELLED. */
export async function cancelUndeliveredOrder(tx: Executor, config: Pick<Config, 'pii'>, input: { orderId: string; reason: string }): Promise<boolean> {
  const order = await lockedOrder(tx, input.orderId);
  if (!order || !completable.includes(order.status)) return false;
  return setOrderStatus(tx, config, input.orderId, 'CANCELLED', input.reason);
}

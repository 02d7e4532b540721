import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const fulfilment = pgSchema('fulfilment');

/**
 * Where a parcel stands, as the fulfilment workflow's state machine decided (workflows/fulfilment/tracking.ts):
 * `planned` until the carrier books it, then the carrier's steps, which only move forward. `exception`
 * is a step aside (the parcel stopped somewhere) that a later step clears. `cancelled` means ops gave the
 * parcel up (reshipped under a new shipment, or refunded); `returned_to_sender` and `delivered` are final.
 */
export const shipmentStatuses = [
  'planned',
  'booked',
  'picked_up',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'exception',
  'returned_to_sender',
  'cancelled',
] as const;
export type ShipmentStatus = (typeof shipmentStatuses)[number];

/** Why a shipment waits for a person: the escalation the ops decision (`resolveEscalation`) answers. */
export const shipmentAttentions = ['pickup_overdue', 'exception', 'booking_refused', 'returned_to_sender'] as const;
export type ShipmentAttention = (typeof shipmentAttentions)[number];

/**
 * One parcel of an order: the units reserved at one stock location (an order with stock at two locations
 * ships as two). Made by the fulfilment workflow, unique per (order, location, attempt) so planning twice
 * makes nothing twice; a reshipment is the next attempt from the same location.
 */
export const shipments = fulfilment.table(
  'shipments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id').notNull(),
    fromLocation: text('from_location').notNull(),
    attempt: integer('attempt').notNull().default(1),
    /** The shipment this one replaces (a reship after an exception or a missed pick-up). */
    replacesShipmentId: uuid('replaces_shipment_id'),
    status: text('status').$type<ShipmentStatus>().notNull().default('planned'),
    attention: text('attention').$type<ShipmentAttention>(),
    /** The carrier's words on the last exception; never personal data. */
    exceptionDetail: text('exception_detail'),
    carrier: text('carrier'),
    carrierShipmentId: text('carrier_shipment_id'),
    trackingNumber: text('tracking_number'),
    labelUrl: text('label_url'),
    bookedAt: timestamp('booked_at', { withTimezone: true, mode: 'date' }),
    pickedUpAt: timestamp('picked_up_at', { withTimezone: true, mode: 'date' }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
    /** Set in the transaction that put uncollected units back on hand (a refunded parcel): once. */
    restockedAt: timestamp('restocked_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('shipments_order_location_attempt_idx').on(t.orderId, t.fromLocation, t.attempt),
    uniqueIndex('shipments_carrier_shipment_idx').on(t.carrier, t.carrierShipmentId),
    check('shipments_status', sql`${t.status} IN (${sql.raw(shipmentStatuses.map((s) => `'${s}'`).join(', '))})`),
    check('shipments_attention', sql`${t.attention} IS NULL OR ${t.attention} IN (${sql.raw(shipmentAttentions.map((s) => `'${s}'`).join(', '))})`),
    check('shipments_attempt', sql`${t.attempt} >= 1`),
    index('shipments_order_idx').on(t.orderId, t.createdAt),
    index('shipments_attention_idx').on(t.attention).where(sql`${t.attention} IS NOT NULL`),
  ],
);

export const shipmentLines = fulfilment.table(
  'shipment_lines',
  {
    shipmentId: uuid('shipment_id').notNull().references(() => shipments.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    quantity: integer('quantity').notNull(),
  },
  (t) => [primaryKey({ columns: [t.shipmentId, t.sku] }), check('shipment_lines_quantity', sql`${t.quantity} > 0`)],
);

/**
 * Carrier events as the workflow took them, once per (shipment, carrier event id), with whether they moved
 * the parcel (`applied`) or were stale (out of order, after the end). `GET /v1/orders/:id/tracking` and the
 * order's SSE stream (`event: tracking`) read this table.
 */
export const trackingEvents = fulfilment.table(
  'tracking_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    shipmentId: uuid('shipment_id').notNull().references(() => shipments.id, { onDelete: 'cascade' }),
    orderId: uuid('order_id').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    applied: text('applied').$type<'applied' | 'ignored'>().notNull(),
    /** The shipment's status once this event was taken. */
    statusAfter: text('status_after').$type<ShipmentStatus>().notNull(),
    detail: text('detail'),
  },
  (t) => [
    uniqueIndex('tracking_events_event_idx').on(t.shipmentId, t.eventId),
    check('tracking_events_applied', sql`${t.applied} IN ('applied', 'ignored')`),
    index('tracking_events_order_idx').on(t.orderId, t.id),
  ],
);

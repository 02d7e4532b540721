import { sql } from 'drizzle-orm';
import { bigint, char, check, index, integer, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { returnStatuses, type ReturnStatus } from '../../returns/statuses';
import { timestamps } from './columns';
import { fulfilment } from './fulfilment';

export { returnStatuses, type ReturnStatus };

/**
 * A customer's return of (part of) a delivered order, driven by the `returnAndRefund` workflow
 * (`return-<id>`). The id is derived from the request's Idempotency-Key, so a request retried after a
 * failure finds the return it made instead of making a second one. The order and its lines belong to
 * the orders domain: they are referred to by id and SKU, not by foreign key.
 */
export const returnRecords = fulfilment.table(
  'returns',
  {
    id: uuid('id').primaryKey(),
    orderId: uuid('order_id').notNull(),
    accountId: uuid('account_id').notNull(),
    status: text('status').$type<ReturnStatus>().notNull().default('requested'),
    /** Why the return ended where it did (expired, label refused, refund refused). */
    statusReason: text('status_reason'),
    /** The customer's words, as given. */
    reason: text('reason').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    /** The stock location the parcel goes back to, and accepted units are restocked at. */
    location: text('location').notNull(),
    workflowId: text('workflow_id').notNull(),
    carrierShipmentId: text('carrier_shipment_id'),
    trackingNumber: text('tracking_number'),
    labelUrl: text('label_url'),
    authorisedAt: timestamp('authorised_at', { withTimezone: true, mode: 'date' }),
    receivedVia: text('received_via').$type<'carrier' | 'ops'>(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }),
    inspectedAt: timestamp('inspected_at', { withTimezone: true, mode: 'date' }),
    inspectionNote: text('inspection_note'),
    /** The refund asked of the payment workflow (`return-<id>`) and its amount: the accepted units' share of what was paid, VAT included. */
    refundId: text('refund_id'),
    refundAmount: bigint('refund_amount', { mode: 'number' }),
    refundedAt: timestamp('refunded_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (t) => [
    check('returns_status', sql`${t.status} IN (${sql.raw(returnStatuses.map((s) => `'${s}'`).join(', '))})`),
    check('returns_received_via', sql`${t.receivedVia} IS NULL OR ${t.receivedVia} IN ('carrier', 'ops')`),
    check('returns_refund_amount', sql`${t.refundAmount} IS NULL OR ${t.refundAmount} >= 0`),
    index('returns_order_idx').on(t.orderId, t.createdAt),
  ],
);

/** What a return sends back, per SKU of the order; the inspection's decision and the restock, once, per line. */
export const returnLines = fulfilment.table(
  'return_lines',
  {
    returnId: uuid('return_id').notNull().references(() => returnRecords.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    quantity: integer('quantity').notNull(),
    /** What the customer paid for these units, VAT included (their share of the order line). */
    paidAmount: bigint('paid_amount', { mode: 'number' }).notNull(),
    acceptedQuantity: integer('accepted_quantity'),
    rejectedQuantity: integer('rejected_quantity'),
    /** Set in the transaction that puts the accepted units back on hand: a retry finds it set and adds nothing. */
    restockedAt: timestamp('restocked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.returnId, t.sku] }),
    check('return_lines_quantity', sql`${t.quantity} > 0`),
    check('return_lines_paid', sql`${t.paidAmount} >= 0`),
    check(
      'return_lines_inspection',
      sql`(${t.acceptedQuantity} IS NULL AND ${t.rejectedQuantity} IS NULL) OR (${t.acceptedQuantity} >= 0 AND ${t.rejectedQuantity} >= 0 AND ${t.acceptedQuantity} + ${t.rejectedQuantity} = ${t.quantity})`,
    ),
  ],
);

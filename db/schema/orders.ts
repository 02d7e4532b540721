import { sql } from 'drizzle-orm';
import { bigint, bigserial, char, check, index, integer, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const orders = pgSchema('orders');

/**
 * A shopping cart: a signed-in customer's (one open cart each) or an anonymous one, reached through
 * a cart token of which only the SHA-256 is stored. Lines hold SKUs and quantities only: prices are
 * computed on the server each time, never taken from the client or frozen in the cart.
 */
export const carts = orders.table(
  'carts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id'),
    tokenHash: text('token_hash').unique(),
    currency: char('currency', { length: 3 }).notNull(),
    status: text('status').$type<'open' | 'checked_out' | 'merged' | 'expired'>().notNull().default('open'),
    /** Coupon codes the shopper entered (upper-case); priced on every read, held only at checkout. */
    couponCodes: text('coupon_codes').array().notNull().default(sql`'{}'::text[]`),
    /** Carts idle for 30 days expire. */
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    ...timestamps,
  },
  (t) => [
    check('carts_status', sql`${t.status} IN ('open', 'checked_out', 'merged', 'expired')`),
    check('carts_has_owner', sql`${t.accountId} IS NOT NULL OR ${t.tokenHash} IS NOT NULL`),
    index('carts_account_open_idx').on(t.accountId).where(sql`${t.status} = 'open'`),
    index('carts_idle_idx').on(t.lastActivityAt).where(sql`${t.status} = 'open'`),
  ],
);

export const cartLines = orders.table(
  'cart_lines',
  {
    cartId: uuid('cart_id').notNull().references(() => carts.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    quantity: integer('quantity').notNull(),
    addedAt: timestamp('added_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.cartId, t.sku] }), check('cart_lines_quantity', sql`${t.quantity} BETWEEN 1 AND 999`)],
);

export const orderStatuses = [
  'PENDING',
  'PAYMENT_PENDING',
  'AWAITING_CONFIRMATION',
  'FRAUD_REVIEW',
  'PAID',
  'CONFIRMED',
  /** The first parcel was picked up by the carrier. */
  'SHIPPED',
  /** Every parcel was delivered (or settled by ops): `delivered_at` is set and the return window is open. */
  'COMPLETED',
  'CANCELLED',
  'FAILED',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/**
 * An order, created by the checkout workflow's update from one cart (at most one order per cart). The
 * totals are the priced cart at that moment, in integer minor units; the shipping address is personal
 * data, encrypted like identity's.
 */
export const orderRecords = orders.table(
  'orders',
  {
    id: uuid('id').primaryKey(),
    cartId: uuid('cart_id').notNull().unique(),
    accountId: uuid('account_id').notNull(),
    status: text('status').$type<OrderStatus>().notNull(),
    statusReason: text('status_reason'),
    currency: char('currency', { length: 3 }).notNull(),
    subtotalAmount: bigint('subtotal_amount', { mode: 'number' }).notNull(),
    shippingAmount: bigint('shipping_amount', { mode: 'number' }).notNull(),
    discountAmount: bigint('discount_amount', { mode: 'number' }).notNull().default(0),
    taxAmount: bigint('tax_amount', { mode: 'number' }).notNull(),
    totalAmount: bigint('total_amount', { mode: 'number' }).notNull(),
    shippingMethod: text('shipping_method').notNull(),
    shippingCountry: char('shipping_country', { length: 2 }).notNull(),
    shippingAddressEnc: text('shipping_address_enc'),
    workflowId: text('workflow_id').notNull(),
    /** When the last parcel was delivered; set with COMPLETED. */
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    /** `delivered_at` + 30 days: returns are accepted until then. */
    returnWindowEndsAt: timestamp('return_window_ends_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (t) => [
    check('orders_status', sql`${t.status} IN (${sql.raw(orderStatuses.map((s) => `'${s}'`).join(', '))})`),
    check('orders_amounts', sql`${t.subtotalAmount} >= 0 AND ${t.shippingAmount} >= 0 AND ${t.taxAmount} >= 0 AND ${t.discountAmount} >= 0 AND ${t.totalAmount} >= 0`),
    index('orders_account_idx').on(t.accountId, t.createdAt),
    index('orders_status_idx').on(t.status, t.updatedAt),
  ],
);

export const orderLines = orders.table(
  'order_lines',
  {
    orderId: uuid('order_id').notNull().references(() => orderRecords.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    title: text('title').notNull(),
    quantity: integer('quantity').notNull(),
    unitAmount: bigint('unit_amount', { mode: 'number' }).notNull(),
    lineAmount: bigint('line_amount', { mode: 'number' }).notNull(),
    /** Taken off this line by promotions: the invoice's VAT is on what is left, as the cart's was. */
    discountAmount: bigint('discount_amount', { mode: 'number' }).notNull().default(0),
    taxAmount: bigint('tax_amount', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.sku] }),
    check('order_lines_quantity', sql`${t.quantity} > 0`),
    check('order_lines_discount', sql`${t.discountAmount} >= 0 AND ${t.discountAmount} <= ${t.lineAmount}`),
  ],
);

/** Every status an order went through, with why: `GET /v1/orders/:id` shows it, the SSE stream follows it. */
export const orderStatusHistory = orders.table(
  'status_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id').notNull().references(() => orderRecords.id, { onDelete: 'cascade' }),
    status: text('status').$type<OrderStatus>().notNull(),
    reason: text('reason'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('status_history_order_idx').on(t.orderId, t.id)],
);

import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const inventory = pgSchema('inventory');

/** Units physically held per SKU and stock location. The SKU is the only link to the catalog: no foreign key crosses domains. */
export const stockLevels = inventory.table(
  'stock_levels',
  {
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    onHand: integer('on_hand').notNull(),
    /**
     * Units promised to orders and not yet shipped. Available = on hand − reserved; a reservation only
     * succeeds while that stays at or above zero (one conditional UPDATE), so stock is never oversold.
     */
    reserved: integer('reserved').notNull().default(0),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.sku, t.location] }),
    check('stock_on_hand_non_negative', sql`${t.onHand} >= 0`),
    check('stock_reserved_non_negative', sql`${t.reserved} >= 0`),
  ],
);

/**
 * Units held for an order, per SKU and location: unique per (order, SKU, location), so reserving twice
 * for one order changes nothing. Released (cancelled order, expiry) or committed (shipped) exactly once.
 */
export const reservations = inventory.table(
  'reservations',
  {
    orderId: uuid('order_id').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    quantity: integer('quantity').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** A reservation whose order never came (a checkout that died before creating it) is released after this. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    releasedAt: timestamp('released_at', { withTimezone: true, mode: 'date' }),
    committedAt: timestamp('committed_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.sku, t.location] }),
    check('reservations_quantity', sql`${t.quantity} > 0`),
    check('reservations_settled_once', sql`${t.releasedAt} IS NULL OR ${t.committedAt} IS NULL`),
    index('reservations_open_expiry_idx').on(t.expiresAt).where(sql`${t.releasedAt} IS NULL AND ${t.committedAt} IS NULL`),
  ],
);

/** Stock changes, recorded in the same transaction, so availability in the search index follows the stock. */
export const stockOutbox = inventory.table(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sku: text('sku').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [index('stock_outbox_pending_idx').on(t.id).where(sql`${t.processedAt} IS NULL`)],
);

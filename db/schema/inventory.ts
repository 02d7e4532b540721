import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const inventory = pgSchema('inventory');

/** Units physically held per SKU and stock location. The SKU is the only link to the catalog: no foreign key crosses domains. */
export const stockLevels = inventory.table(
  'stock_levels',
  {
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    onHand: integer('on_hand').notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.sku, t.location] }), check('stock_on_hand_non_negative', sql`${t.onHand} >= 0`)],
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

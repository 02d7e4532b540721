import { sql } from 'drizzle-orm';
import { check, integer, pgSchema, primaryKey, text } from 'drizzle-orm/pg-core';
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

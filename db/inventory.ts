import { inArray, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { byteOrder } from './inventory-reservations';
import { recordStockChanges } from './outbox';
import { stockLevels } from './schema/inventory';

/**
 * Sets absolute on-hand quantities; a level that already holds the value is not rewritten and records no stock event.
 * Units reserved for orders are left as they are: a count lower than what is promised makes the SKU unavailable,
 * it does not cancel reservations.
 */
export async function setStockLevels(db: Executor, levels: { sku: string; location: string; onHand: number }[]): Promise<void> {
  // One row per (sku, location), the last word winning: Postgres refuses to upsert the same key twice in one statement.
  // Written in (sku, location) byte order, the order reservations lock rows in (db/inventory-reservations.ts): no deadlock with checkouts.
  const unique = [...new Map(levels.map((level) => [`${level.sku}\u0000${level.location}`, level])).values()].sort(
    (a, b) => byteOrder(a.sku, b.sku) || byteOrder(a.location, b.location),
  );
  if (unique.length === 0) return;
  await db.transaction(async (tx) => {
    const changed = await tx
      .insert(stockLevels)
      .values(unique)
      .onConflictDoUpdate({
        target: [stockLevels.sku, stockLevels.location],
        set: { onHand: sql`excluded.on_hand`, updatedAt: sql`now()` },
        setWhere: sql`${stockLevels.onHand} IS DISTINCT FROM excluded.on_hand`,
      })
      .returning({ sku: stockLevels.sku });
    await recordStockChanges(tx, changed.map((row) => row.sku));
  });
}

/** Units available per SKU: on hand minus reserved at each location (never below zero), summed over locations. */
export async function availableBySku(db: Executor, skus: string[]): Promise<Map<string, number>> {
  if (skus.length === 0) return new Map();
  const rows = await db
    .select({ sku: stockLevels.sku, available: sql<number>`sum(greatest(${stockLevels.onHand} - ${stockLevels.reserved}, 0))::int` })
    .from(stockLevels)
    .where(inArray(stockLevels.sku, skus))
    .groupBy(stockLevels.sku);
  return new Map(rows.map((r) => [r.sku, r.available]));
}

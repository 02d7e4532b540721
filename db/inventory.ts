import { inArray, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { recordStockChanges } from './outbox';
import { stockLevels } from './schema/inventory';

/** Sets absolute on-hand quantities; a level that already holds the value is not rewritten and records no stock event. */
export async function setStockLevels(db: Executor, levels: { sku: string; location: string; onHand: number }[]): Promise<void> {
  // One row per (sku, location), the last word winning: Postgres refuses to upsert the same key twice in one statement.
  const unique = [...new Map(levels.map((level) => [`${level.sku}\u0000${level.location}`, level])).values()];
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

/** Units available per SKU, summed over locations. */
export async function availableBySku(db: Executor, skus: string[]): Promise<Map<string, number>> {
  if (skus.length === 0) return new Map();
  const rows = await db
    .select({ sku: stockLevels.sku, onHand: sql<number>`sum(${stockLevels.onHand})::int` })
    .from(stockLevels)
    .where(inArray(stockLevels.sku, skus))
    .groupBy(stockLevels.sku);
  return new Map(rows.map((r) => [r.sku, r.onHand]));
}

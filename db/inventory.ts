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

/**
 * Adds units back on hand (a return restocked): one upsert per (sku, location), in the byte order
 * reservations lock rows in, with a stock event so availability follows. Not idempotent by itself: the
 * caller marks what it restocked in the same transaction (db/returns.ts does, once per return line).
 */
export async function receiveStock(tx: Executor, units: { sku: string; location: string; quantity: number }[]): Promise<void> {
  const positive = units.filter((unit) => unit.quantity > 0).sort((a, b) => byteOrder(a.sku, b.sku) || byteOrder(a.location, b.location));
  for (const unit of positive) {
    await tx
      .insert(stockLevels)
      .values({ sku: unit.sku, location: unit.location, onHand: unit.quantity })
      .onConflictDoUpdate({ target: [stockLevels.sku, stockLevels.location], set: { onHand: sql`${stockLevels.onHand} + ${unit.quantity}`, updatedAt: sql`now()` } });
  }
  await recordStockChanges(tx, [...new Set(positive.map((unit) => unit.sku))]);
}

/** Some units asked of `takeAvailableUnits` are not available (on hand − reserved) at their location; nothing was taken. */
export class UnitsUnavailable extends Error {
  override readonly name = 'UnitsUnavailable';
}

/**
 * Takes units off the shelf without a reservation (a replacement parcel for one the carrier lost), only
 * from what is available (on hand − reserved), so units promised to other orders are never taken: all
 * or nothing, in the byte order reservations lock rows in. Not idempotent by itself: the caller marks
 * what it took in the same transaction (db/fulfilment.ts does, once per replacement shipment).
 */
export async function takeAvailableUnits(tx: Executor, units: { sku: string; location: string; quantity: number }[]): Promise<void> {
  const positive = units.filter((unit) => unit.quantity > 0).sort((a, b) => byteOrder(a.sku, b.sku) || byteOrder(a.location, b.location));
  for (const unit of positive) {
    const taken = await tx.execute(sql`
      UPDATE ${stockLevels} SET on_hand = on_hand - ${unit.quantity}, updated_at = now()
      WHERE sku = ${unit.sku} AND location = ${unit.location} AND on_hand - reserved >= ${unit.quantity}
      RETURNING sku`);
    if (taken.length === 0) throw new UnitsUnavailable(`${unit.quantity} × ${unit.sku} not available at ${unit.location}`);
  }
  await recordStockChanges(tx, [...new Set(positive.map((unit) => unit.sku))]);
}

import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { cartLines, carts } from './schema/orders';

export type CartRow = typeof carts.$inferSelect;
export type CartLineRow = typeof cartLines.$inferSelect;

export async function insertCart(db: Executor, values: typeof carts.$inferInsert): Promise<CartRow> {
  const [row] = await db.insert(carts).values(values).returning();
  return row!;
}

export async function cartById(db: Executor, id: string, options: { lock?: boolean } = {}): Promise<CartRow | undefined> {
  const query = db.select().from(carts).where(eq(carts.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function openCartOfAccount(db: Executor, accountId: string, options: { lock?: boolean } = {}): Promise<CartRow | undefined> {
  const query = db
    .select()
    .from(carts)
    .where(and(eq(carts.accountId, accountId), eq(carts.status, 'open')))
    .orderBy(sql`${carts.lastActivityAt} DESC`)
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function linesOf(db: Executor, cartId: string): Promise<CartLineRow[]> {
  return db.select().from(cartLines).where(eq(cartLines.cartId, cartId)).orderBy(cartLines.sku);
}

export async function upsertLine(db: Executor, cartId: string, sku: string, quantity: number): Promise<void> {
  await db
    .insert(cartLines)
    .values({ cartId, sku, quantity })
    .onConflictDoUpdate({ target: [cartLines.cartId, cartLines.sku], set: { quantity } });
}

export async function deleteLine(db: Executor, cartId: string, sku: string): Promise<boolean> {
  const rows = await db.delete(cartLines).where(and(eq(cartLines.cartId, cartId), eq(cartLines.sku, sku))).returning({ sku: cartLines.sku });
  return rows.length > 0;
}

export async function touchCart(db: Executor, cartId: string, changes: Partial<Pick<CartRow, 'status' | 'accountId' | 'tokenHash'>> = {}): Promise<void> {
  await db
    .update(carts)
    .set({ ...changes, lastActivityAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(carts.id, cartId));
}

/** Open carts idle since before `before` become expired; returns how many. */
export async function expireIdleCarts(db: Executor, before: Date, limit: number): Promise<number> {
  const rows = await db.execute<{ id: string }>(sql`
    UPDATE ${carts} SET status = 'expired', updated_at = now()
    WHERE id IN (
      SELECT id FROM ${carts} WHERE status = 'open' AND last_activity_at < ${before.toISOString()} ORDER BY last_activity_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING id`);
  return rows.length;
}

export async function cartIdByTokenHash(db: Executor, tokenHash: string): Promise<string | undefined> {
  const [row] = await db.select({ id: carts.id }).from(carts).where(eq(carts.tokenHash, tokenHash));
  return row?.id;
}

/** Adds a coupon code (upper-case) once; returns the codes after. */
export async function addCouponCode(db: Executor, cartId: string, code: string): Promise<string[]> {
  const [row] = await db
    .update(carts)
    .set({
      couponCodes: sql`CASE WHEN ${code} = ANY(${carts.couponCodes}) THEN ${carts.couponCodes} ELSE array_append(${carts.couponCodes}, ${code}::text) END`,
      lastActivityAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(carts.id, cartId))
    .returning({ couponCodes: carts.couponCodes });
  return row?.couponCodes ?? [];
}

/** Removes a coupon code; false when the cart did not have it. */
export async function removeCouponCode(db: Executor, cartId: string, code: string): Promise<boolean> {
  const rows = await db
    .update(carts)
    .set({ couponCodes: sql`array_remove(${carts.couponCodes}, ${code}::text)`, lastActivityAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(carts.id, cartId), sql`${code} = ANY(${carts.couponCodes})`))
    .returning({ id: carts.id });
  return rows.length > 0;
}

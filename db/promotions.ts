/**
 * Promotions in Postgres: what the engine evaluates, and their budgets. A budget is held by the
 * checkout's pricing step (`reserveRedemptions`) with one conditional update per promotion, all in one
 * transaction, and given back by the checkout's compensation (`releaseRedemptions`) or kept for good
 * once the order is paid (`commitRedemptions`). Each acts once per (promotion, order).
 */
import { and, asc, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Promotion } from '../promotions/engine';
import type { Executor } from '../platform/postgres';
import { customerSegments, promotionRedemptions, promotions } from './schema/marketing';

export type PromotionRow = typeof promotions.$inferSelect;
export type NewPromotionRow = typeof promotions.$inferInsert;

export function toPromotion(row: PromotionRow): Promotion {
  return {
    id: row.id,
    name: row.name,
    ...(row.code ? { code: row.code } : {}),
    priority: row.priority,
    stacking: row.stacking,
    currency: row.currency,
    effect: row.effect,
    ...(row.target ? { target: row.target } : {}),
    ...(row.minSpend !== null ? { minSpend: row.minSpend } : {}),
    ...(row.segments?.length ? { segments: row.segments } : {}),
    firstOrderOnly: row.firstOrderOnly,
    ...(row.startsAt ? { startsAt: row.startsAt } : {}),
    ...(row.endsAt ? { endsAt: row.endsAt } : {}),
    active: row.active,
  };
}

export async function insertPromotion(db: Executor, values: NewPromotionRow): Promise<PromotionRow> {
  const [row] = await db.insert(promotions).values(values).returning();
  return row!;
}

export async function updatePromotion(db: Executor, id: string, values: Partial<NewPromotionRow>): Promise<PromotionRow | undefined> {
  const [row] = await db
    .update(promotions)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(promotions.id, id))
    .returning();
  return row;
}

export async function promotionById(db: Executor, id: string): Promise<PromotionRow | undefined> {
  const [row] = await db.select().from(promotions).where(eq(promotions.id, id));
  return row;
}

export async function listPromotions(db: Executor, options: { limit: number; after?: string; active?: boolean }): Promise<PromotionRow[]> {
  return db
    .select()
    .from(promotions)
    .where(and(options.after ? sql`${promotions.id} > ${options.after}` : undefined, options.active === undefined ? undefined : eq(promotions.active, options.active)))
    .orderBy(asc(promotions.id))
    .limit(options.limit);
}

/** What may apply to a cart in `currency`: every active automatic promotion, and the coupons whose code was entered. */
export async function candidatePromotions(db: Executor, currency: string, codes: string[]): Promise<PromotionRow[]> {
  const upper = [...new Set(codes.map((code) => code.trim().toUpperCase()).filter(Boolean))];
  return db
    .select()
    .from(promotions)
    .where(
      or(
        and(isNull(promotions.code), eq(promotions.active, true), eq(promotions.currency, currency)),
        upper.length > 0 ? inArray(promotions.code, upper) : undefined,
      ),
    );
}

/**
 * Promotions whose budget is spent, overall or for this customer, from what is committed or held now;
 * the reservation checks again under lock, this only lets a preview say why.
 */
export async function exhaustedPromotions(db: Executor, rows: PromotionRow[], accountId: string | undefined): Promise<Map<string, 'usage_limit_reached' | 'customer_limit_reached'>> {
  const exhausted = new Map<string, 'usage_limit_reached' | 'customer_limit_reached'>();
  for (const row of rows) if (row.usageLimit !== null && row.used >= row.usageLimit) exhausted.set(row.id, 'usage_limit_reached');
  const limited = rows.filter((row) => row.perCustomerLimit !== null && !exhausted.has(row.id));
  if (accountId && limited.length > 0) {
    const counts = await db
      .select({ promotionId: promotionRedemptions.promotionId, count: sql<number>`count(*)::int` })
      .from(promotionRedemptions)
      .where(and(inArray(promotionRedemptions.promotionId, limited.map((row) => row.id)), eq(promotionRedemptions.accountId, accountId), ne(promotionRedemptions.state, 'released')))
      .groupBy(promotionRedemptions.promotionId);
    for (const { promotionId, count } of counts) {
      const row = limited.find((each) => each.id === promotionId)!;
      if (count >= row.perCustomerLimit!) exhausted.set(promotionId, 'customer_limit_reached');
    }
  }
  return exhausted;
}

export async function segmentsOf(db: Executor, accountId: string): Promise<string[]> {
  const rows = await db.select({ segment: customerSegments.segment }).from(customerSegments).where(eq(customerSegments.accountId, accountId));
  return rows.map((row) => row.segment).sort();
}

export async function assignSegment(db: Executor, accountId: string, segment: string): Promise<void> {
  await db.insert(customerSegments).values({ accountId, segment }).onConflictDoNothing();
}

export async function removeSegment(db: Executor, accountId: string, segment: string): Promise<void> {
  await db.delete(customerSegments).where(and(eq(customerSegments.accountId, accountId), eq(customerSegments.segment, segment)));
}

export class PromotionUnavailable extends Error {
  override name = 'PromotionUnavailable';
  constructor(
    readonly promotionId: string,
    readonly reason: 'usage_limit_reached' | 'customer_limit_reached' | 'unknown_promotion',
  ) {
    super(`promotion ${promotionId}: ${reason.replaceAll('_', ' ')}`);
  }
}

/**
 * Holds one use of each promotion for `orderId`, all or none (run it in a transaction: a refusal throws
 * `PromotionUnavailable` and the caller's rollback gives back what was taken before it). Promotions are
 * taken in id order so two orders never wait on each other's locks in a cycle. Idempotent: a use this
 * order already holds is not taken twice.
 */
export async function reserveRedemptions(tx: Executor, input: { orderId: string; accountId?: string; redemptions: { promotionId: string; amount: number }[] }): Promise<void> {
  const sorted = [...input.redemptions].sort((a, b) => a.promotionId.localeCompare(b.promotionId));
  for (const { promotionId, amount } of sorted) {
    const [held] = await tx
      .select({ state: promotionRedemptions.state })
      .from(promotionRedemptions)
      .where(and(eq(promotionRedemptions.promotionId, promotionId), eq(promotionRedemptions.orderId, input.orderId)));
    if (held && held.state !== 'released') continue;
    // One statement checks and takes the budget: the row lock it holds until commit orders racing checkouts.
    const [taken] = await tx
      .update(promotions)
      .set({ used: sql`${promotions.used} + 1`, updatedAt: sql`now()` })
      .where(and(eq(promotions.id, promotionId), sql`(${promotions.usageLimit} IS NULL OR ${promotions.used} < ${promotions.usageLimit})`))
      .returning({ perCustomerLimit: promotions.perCustomerLimit });
    if (!taken) {
      const exists = await promotionById(tx, promotionId);
      throw new PromotionUnavailable(promotionId, exists ? 'usage_limit_reached' : 'unknown_promotion');
    }
    if (taken.perCustomerLimit !== null && input.accountId) {
      // Counted under the promotion's row lock taken just above, so two orders of one customer cannot both pass.
      const [{ count }] = (await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(promotionRedemptions)
        .where(and(eq(promotionRedemptions.promotionId, promotionId), eq(promotionRedemptions.accountId, input.accountId), ne(promotionRedemptions.state, 'released')))) as [{ count: number }];
      if (count >= taken.perCustomerLimit) throw new PromotionUnavailable(promotionId, 'customer_limit_reached');
    }
    await tx
      .insert(promotionRedemptions)
      .values({ promotionId, orderId: input.orderId, accountId: input.accountId ?? null, amount, state: 'reserved' })
      .onConflictDoUpdate({
        target: [promotionRedemptions.promotionId, promotionRedemptions.orderId],
        set: { state: 'reserved', amount, updatedAt: sql`now()` },
      });
  }
}

/** Gives back every use `orderId` holds (reserved, not yet committed); a second call finds nothing. Returns how many. */
export async function releaseRedemptions(tx: Executor, orderId: string): Promise<number> {
  const released = await tx
    .update(promotionRedemptions)
    .set({ state: 'released', updatedAt: sql`now()` })
    .where(and(eq(promotionRedemptions.orderId, orderId), eq(promotionRedemptions.state, 'reserved')))
    .returning({ promotionId: promotionRedemptions.promotionId });
  for (const { promotionId } of [...released].sort((a, b) => a.promotionId.localeCompare(b.promotionId))) {
    await tx
      .update(promotions)
      .set({ used: sql`${promotions.used} - 1`, updatedAt: sql`now()` })
      .where(eq(promotions.id, promotionId));
  }
  return released.length;
}

/** The order is paid: its uses are spent for good. Idempotent. */
export async function commitRedemptions(db: Executor, orderId: string): Promise<number> {
  const rows = await db
    .update(promotionRedemptions)
    .set({ state: 'committed', updatedAt: sql`now()` })
    .where(and(eq(promotionRedemptions.orderId, orderId), eq(promotionRedemptions.state, 'reserved')))
    .returning({ promotionId: promotionRedemptions.promotionId });
  return rows.length;
}

export async function redemptionsOf(db: Executor, orderId: string) {
  return db.select().from(promotionRedemptions).where(eq(promotionRedemptions.orderId, orderId)).orderBy(asc(promotionRedemptions.promotionId));
}

/** What targeting needs of each SKU: its product, and its categories with every ancestor (a promotion on `kitchen` covers `kitchen/cups`). */
export async function targetingFactsOf(db: Executor, skus: string[]): Promise<Map<string, { productId: string; categoryIds: string[] }>> {
  if (skus.length === 0) return new Map();
  const rows = await db.execute<{ sku: string; product_id: string; category_ids: string[] | null }>(sql`
    SELECT v.sku, v.product_id::text AS product_id,
           array_remove(array_agg(DISTINCT ancestor.id::text), NULL) AS category_ids
    FROM catalog.variants v
    LEFT JOIN catalog.product_categories pc ON pc.product_id = v.product_id
    LEFT JOIN catalog.categories c ON c.id = pc.category_id
    LEFT JOIN catalog.categories ancestor ON c.path = ancestor.path OR c.path LIKE ancestor.path || '/%'
    WHERE v.sku IN (${sql.join(skus.map((sku) => sql`${sku}`), sql`, `)})
    GROUP BY v.sku, v.product_id`);
  return new Map(rows.map((row) => [row.sku, { productId: row.product_id, categoryIds: (row.category_ids ?? []).sort() }]));
}

/** True when the customer has no order that got as far as payment (failed and cancelled checkouts do not count). */
export async function isFirstOrder(db: Executor, accountId: string): Promise<boolean> {
  const [row] = await db.execute<{ ordered: boolean }>(sql`
    SELECT EXISTS (SELECT 1 FROM orders.orders WHERE account_id = ${accountId} AND status NOT IN ('PENDING', 'PAYMENT_PENDING', 'AWAITING_CONFIRMATION', 'FAILED', 'CANCELLED')) AS ordered`);
  return !row?.ordered;
}

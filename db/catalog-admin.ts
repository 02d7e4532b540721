import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { TaxCategory } from '../orders/tax';
import type { Executor } from '../platform/postgres';
import { pricesOfVariants } from './catalog';
import { recordCatalogEvent } from './outbox';
import { categories, media, prices, productCategories, products, variants } from './schema/catalog';

/**
 * Admin writes to the catalog. Every function takes the database or a transaction; the routes run
 * each write in one transaction that locks the aggregate, checks its version, changes it and records
 * the outbox event, so the search index and the cache hear of exactly the writes that committed.
 */

/** The Postgres error behind drizzle's wrapper, when there is one. */
export function pgErrorOf(error: unknown): { code: string; constraint?: string } | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const { code, constraint_name: constraint } = current as { code?: unknown; constraint_name?: string };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return { code, constraint };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

// Strictly later than the stored value, so every admin write gives a new version even within one microsecond.
const nextUpdatedAt = (column: AnyPgColumn) => sql`greatest(clock_timestamp(), ${column} + interval '1 microsecond')`;

// ---------------------------------------------------------------------------------------------
// Products

export interface ProductLock {
  id: string;
  slug: string;
  status: 'draft' | 'published';
}

/** Locks the product row until the transaction ends; concurrent writers of the same product queue here. */
export async function lockProduct(tx: Executor, id: string): Promise<ProductLock | undefined> {
  const [row] = await tx
    .select({ id: products.id, slug: products.slug, status: products.status })
    .from(products)
    .where(eq(products.id, id))
    .for('update');
  return row;
}

/**
 * A digest of the product and everything shown with it (variants, prices, categories, media). Imports
 * change variants and prices without touching the product row, so its own `updated_at` is not enough.
 * Run it as its own statement after `lockProduct`: a fresh statement sees what the previous lock holder committed.
 */
export async function productVersion(tx: Executor, id: string): Promise<string | undefined> {
  const [row] = await tx
    .select({
      version: sql<string>`md5(concat_ws('|',
        ${products.updatedAt}, ${products.slug}, ${products.status},
        (SELECT string_agg(v.id || '@' || v.updated_at, ',' ORDER BY v.id) FROM ${variants} v WHERE v.product_id = ${products.id}),
        (SELECT string_agg(pr.variant_id || pr.currency || '@' || pr.updated_at, ',' ORDER BY pr.variant_id, pr.currency)
           FROM ${prices} pr JOIN ${variants} v ON v.id = pr.variant_id WHERE v.product_id = ${products.id}),
        (SELECT string_agg(pc.category_id::text, ',' ORDER BY pc.category_id) FROM ${productCategories} pc WHERE pc.product_id = ${products.id}),
        (SELECT string_agg(m.id || '@' || m.updated_at, ',' ORDER BY m.id) FROM ${media} m WHERE m.product_id = ${products.id})))`,
    })
    .from(products)
    .where(eq(products.id, id));
  return row?.version;
}

export interface NewProduct {
  slug: string;
  title: string;
  description: string;
  brand: string | null;
  status: 'draft' | 'published';
  attributes: Record<string, string | number | boolean>;
  /** Left out on insert: the column's default, `standard`. */
  taxCategory?: TaxCategory;
}

export async function insertProduct(tx: Executor, values: NewProduct): Promise<string> {
  const [row] = await tx.insert(products).values(values).returning({ id: products.id });
  await recordCatalogEvent(tx, { type: 'product.changed', aggregateId: row!.id, payload: { slug: values.slug } });
  return row!.id;
}

/**
 * Applies a change to a locked product (any of its own fields, or none when a child changed) and records
 * `product.changed`, naming the previous slug when it moved so the old URL can be dropped from the cache.
 */
export async function touchProduct(tx: Executor, locked: ProductLock, patch: Partial<NewProduct> = {}): Promise<void> {
  const [row] = await tx
    .update(products)
    .set({ ...patch, updatedAt: nextUpdatedAt(products.updatedAt) })
    .where(eq(products.id, locked.id))
    .returning({ slug: products.slug });
  const slug = row!.slug;
  await recordCatalogEvent(tx, {
    type: 'product.changed',
    aggregateId: locked.id,
    payload: slug !== locked.slug ? { slug, previousSlug: locked.slug } : { slug },
  });
}

/** Deletes a locked product (variants, prices, links and media rows go with it) and returns the media keys to remove from storage. */
export async function deleteProduct(tx: Executor, locked: ProductLock): Promise<string[]> {
  const keys = await tx.select({ key: media.storageKey }).from(media).where(eq(media.productId, locked.id));
  await tx.delete(products).where(eq(products.id, locked.id));
  await recordCatalogEvent(tx, { type: 'product.deleted', aggregateId: locked.id, payload: { slug: locked.slug } });
  return keys.map((k) => k.key);
}

/** Everything an admin edits on one product, drafts included. */
export async function findAdminProduct(db: Executor, id: string) {
  const product = await db.query.products.findFirst({ where: eq(products.id, id) });
  if (!product) return undefined;
  const [variantRows, categoryRows, mediaRows] = await Promise.all([
    db.select().from(variants).where(eq(variants.productId, id)).orderBy(asc(variants.position), asc(variants.sku)),
    db
      .select({ id: categories.id, path: categories.path, name: categories.name })
      .from(productCategories)
      .innerJoin(categories, eq(categories.id, productCategories.categoryId))
      .where(eq(productCategories.productId, id))
      .orderBy(asc(categories.path)),
    db.select().from(media).where(eq(media.productId, id)).orderBy(asc(media.position), asc(media.createdAt)),
  ]);
  const priceRows = await pricesOfVariants(db, variantRows.map((v) => v.id));
  return {
    product,
    categories: categoryRows,
    media: mediaRows,
    variants: variantRows.map((variant) => ({ ...variant, prices: priceRows.filter((p) => p.variantId === variant.id) })),
  };
}

export type AdminProduct = NonNullable<Awaited<ReturnType<typeof findAdminProduct>>>;

// ---------------------------------------------------------------------------------------------
// Variants and prices (the caller holds the product lock and calls `touchProduct` afterwards)

export interface PriceInput {
  currency: string;
  amount: number;
  compareAtAmount?: number | null;
}

export interface NewVariant {
  sku: string;
  title: string;
  options: Record<string, string>;
  weightGrams: number | null;
  position: number;
  prices: PriceInput[];
}

export async function insertVariant(tx: Executor, productId: string, variant: NewVariant): Promise<string> {
  const { prices: priceInputs, ...values } = variant;
  const [row] = await tx.insert(variants).values({ ...values, productId }).returning({ id: variants.id });
  for (const price of priceInputs) await upsertPrice(tx, row!.id, price);
  return row!.id;
}

export async function findVariant(db: Executor, productId: string, variantId: string) {
  const [row] = await db
    .select()
    .from(variants)
    .where(and(eq(variants.id, variantId), eq(variants.productId, productId)));
  return row;
}

export async function updateVariant(tx: Executor, variantId: string, patch: Partial<Omit<NewVariant, 'prices'>>): Promise<void> {
  await tx.update(variants).set({ ...patch, updatedAt: nextUpdatedAt(variants.updatedAt) }).where(eq(variants.id, variantId));
}

export async function deleteVariant(tx: Executor, variantId: string): Promise<void> {
  await tx.delete(variants).where(eq(variants.id, variantId));
}

export async function upsertPrice(tx: Executor, variantId: string, price: PriceInput): Promise<void> {
  const values = { amount: price.amount, compareAtAmount: price.compareAtAmount ?? null };
  await tx
    .insert(prices)
    .values({ variantId, currency: price.currency, ...values })
    .onConflictDoUpdate({ target: [prices.variantId, prices.currency], set: { ...values, updatedAt: nextUpdatedAt(prices.updatedAt) } });
}

/** False when the variant had no price in that currency. */
export async function deletePrice(tx: Executor, variantId: string, currency: string): Promise<boolean> {
  const rows = await tx
    .delete(prices)
    .where(and(eq(prices.variantId, variantId), eq(prices.currency, currency)))
    .returning({ currency: prices.currency });
  return rows.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Product categories

/** Replaces the product's categories; returns the ids that do not exist (nothing is written then). */
export async function setProductCategories(tx: Executor, productId: string, categoryIds: string[]): Promise<string[]> {
  const unique = [...new Set(categoryIds)];
  const found = unique.length === 0 ? [] : await tx.select({ id: categories.id }).from(categories).where(inArray(categories.id, unique));
  const missing = unique.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0) return missing;
  await tx.delete(productCategories).where(eq(productCategories.productId, productId));
  if (unique.length > 0) await tx.insert(productCategories).values(unique.map((categoryId) => ({ productId, categoryId })));
  return [];
}

// ---------------------------------------------------------------------------------------------
// Media (the caller holds the product lock and calls `touchProduct` afterwards)

export interface NewMedia {
  storageKey: string;
  contentType: string;
  bytes: number;
  alt: string;
}

/** Appends the image after the product's last one. */
export async function insertMedia(tx: Executor, productId: string, values: NewMedia) {
  const [row] = await tx
    .insert(media)
    .values({
      ...values,
      productId,
      position: sql`(SELECT coalesce(max(m.position) + 1, 0) FROM ${media} m WHERE m.product_id = ${productId})`,
    })
    .returning();
  return row!;
}

export async function findMedia(db: Executor, productId: string, mediaId: string) {
  const [row] = await db
    .select()
    .from(media)
    .where(and(eq(media.id, mediaId), eq(media.productId, productId)));
  return row;
}

export async function listMediaIds(db: Executor, productId: string): Promise<string[]> {
  const rows = await db.select({ id: media.id }).from(media).where(eq(media.productId, productId));
  return rows.map((r) => r.id);
}

export async function updateMediaAlt(tx: Executor, mediaId: string, alt: string): Promise<void> {
  await tx.update(media).set({ alt, updatedAt: nextUpdatedAt(media.updatedAt) }).where(eq(media.id, mediaId));
}

/** `orderedIds` lists every image of the product, in the new display order. */
export async function reorderMedia(tx: Executor, orderedIds: string[]): Promise<void> {
  for (const [position, id] of orderedIds.entries()) {
    await tx
      .update(media)
      .set({ position, updatedAt: nextUpdatedAt(media.updatedAt) })
      .where(and(eq(media.id, id), sql`${media.position} IS DISTINCT FROM ${position}`));
  }
}

export async function deleteMedia(tx: Executor, mediaId: string): Promise<void> {
  await tx.delete(media).where(eq(media.id, mediaId));
}

/** Whether any product still shows this stored file; a file is removed from storage only when none does. */
export async function isStorageKeyUsed(db: Executor, key: string): Promise<boolean> {
  const [row] = await db.select({ id: media.id }).from(media).where(eq(media.storageKey, key));
  return Boolean(row);
}

// ---------------------------------------------------------------------------------------------
// Categories

export type CategoryRow = typeof categories.$inferSelect;

/**
 * Moves, creations and deletions of categories take one transaction-scoped lock for the whole tree:
 * two concurrent moves (A under B, B under A) would otherwise each pass the cycle check and make a loop.
 */
export async function lockCategoryTree(tx: Executor): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('catalog.categories.tree'))`);
}

export async function lockCategory(tx: Executor, id: string): Promise<CategoryRow | undefined> {
  const [row] = await tx.select().from(categories).where(eq(categories.id, id)).for('update');
  return row;
}

export async function findCategory(db: Executor, id: string): Promise<CategoryRow | undefined> {
  const [row] = await db.select().from(categories).where(eq(categories.id, id));
  return row;
}

export async function childCount(db: Executor, id: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(categories).where(eq(categories.parentId, id));
  return row!.n;
}

/** True when `candidateId` is `categoryId` itself or lies below it: moving `categoryId` under it would make a loop. */
export async function isSelfOrDescendant(db: Executor, categoryId: string, candidateId: string): Promise<boolean> {
  const rows = await db.execute<{ found: boolean }>(sql`
    WITH RECURSIVE up AS (
      SELECT id, parent_id, 1 AS depth FROM ${categories} WHERE id = ${candidateId}
      UNION ALL
      SELECT c.id, c.parent_id, up.depth + 1 FROM ${categories} c JOIN up ON c.id = up.parent_id WHERE up.depth < 100
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE id = ${categoryId}) AS found`);
  return Boolean(rows[0]?.found);
}

export async function insertCategory(tx: Executor, values: { slug: string; name: string; parentId: string | null; path: string }): Promise<CategoryRow> {
  const [row] = await tx.insert(categories).values(values).returning();
  await recordCatalogEvent(tx, { type: 'category.changed', aggregateId: row!.id, payload: { path: row!.path } });
  return row!;
}

/**
 * Renames and/or moves a category. When its path changes, the paths of everything below it change too;
 * each of those categories gets a `category.changed` for its old path (gone) and its new one, and each
 * product filed under them a `product.changed`, since products are indexed with their category paths.
 */
export async function updateCategory(
  tx: Executor,
  current: CategoryRow,
  next: { slug: string; name: string; parentId: string | null; path: string },
): Promise<CategoryRow> {
  const [row] = await tx
    .update(categories)
    .set({ ...next, updatedAt: nextUpdatedAt(categories.updatedAt) })
    .where(eq(categories.id, current.id))
    .returning();
  if (next.path === current.path) {
    await recordCatalogEvent(tx, { type: 'category.changed', aggregateId: current.id, payload: { path: next.path } });
    await recordProductsChangedIn(tx, [current.id]);
    return row!;
  }
  const moved = await tx.execute<{ id: string; old_path: string; path: string }>(sql`
    UPDATE ${categories} SET path = ${next.path} || substr(path, ${current.path.length + 1}), updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
    WHERE path LIKE ${escapeLike(current.path) + '/%'}
    RETURNING id, path, ${current.path} || substr(path, ${next.path.length + 1}) AS old_path`);
  const changed = [{ id: current.id, old_path: current.path, path: next.path }, ...moved];
  for (const category of changed) {
    await recordCatalogEvent(tx, { type: 'category.changed', aggregateId: category.id, payload: { path: category.old_path } });
    await recordCatalogEvent(tx, { type: 'category.changed', aggregateId: category.id, payload: { path: category.path } });
  }
  await recordProductsChangedIn(
    tx,
    changed.map((c) => c.id),
  );
  return row!;
}

/** Deletes a category without children; products filed under it lose that category. */
export async function deleteCategory(tx: Executor, category: CategoryRow): Promise<void> {
  // Recorded before the links disappear with the category (ON DELETE CASCADE).
  await recordProductsChangedIn(tx, [category.id]);
  await tx.delete(categories).where(eq(categories.id, category.id));
  await recordCatalogEvent(tx, { type: 'category.changed', aggregateId: category.id, payload: { path: category.path } });
}

/** One `product.changed` per product filed under any of these categories, in one statement however many there are. */
async function recordProductsChangedIn(tx: Executor, categoryIds: string[]): Promise<void> {
  await tx.execute(sql`
    INSERT INTO catalog.outbox (event_type, aggregate_id, payload)
    SELECT 'product.changed', p.id, jsonb_build_object('slug', p.slug)
    FROM ${products} p
    WHERE p.id IN (SELECT pc.product_id FROM ${productCategories} pc WHERE pc.category_id IN ${categoryIds})
    ORDER BY p.id`);
}

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A digest of what an admin sees of the category; its path changes when an ancestor moves, so it is part of it. */
export async function categoryVersion(db: Executor, id: string): Promise<string | undefined> {
  const [row] = await db
    .select({
      version: sql<string>`md5(concat_ws('|', ${categories.path}, ${categories.name}, ${categories.parentId}, ${categories.updatedAt}))`,
    })
    .from(categories)
    .where(eq(categories.id, id));
  return row?.version;
}

import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Database, Executor } from '../platform/postgres';
import { recordCatalogEvent } from './outbox';
import { categories, prices, productCategories, products, variants } from './schema/catalog';

/** The parts of an imported product the catalog stores; validation happened before. */
export interface ProductDraft {
  slug: string;
  title: string;
  description: string;
  brand?: string;
  status: 'draft' | 'published';
  attributes: Record<string, string | number | boolean>;
  categories: { path: string; slug: string; name: string; parentPath: string | null }[][];
  variants: {
    sku: string;
    title: string;
    options: Record<string, string>;
    weightGrams?: number;
    prices: { currency: string; amount: number; compareAtAmount?: number }[];
  }[];
}

export class SkuOwnedByAnotherProductError extends Error {
  override name = 'SkuOwnedByAnotherProductError';
  constructor(
    readonly field: string,
    readonly sku: string,
  ) {
    super(`SKU ${sku} already belongs to another product`);
  }
}

/**
 * Writes happen only when a value really changes (`IS DISTINCT FROM`), so importing the same data again
 * leaves every row, and its `updated_at`, untouched.
 */
async function upsertCategoryChain(tx: Executor, chain: ProductDraft['categories'][number]): Promise<string | undefined> {
  let parentId: string | null = null;
  let leafId: string | undefined;
  for (const node of chain) {
    await tx
      .insert(categories)
      .values({ path: node.path, slug: node.slug, name: node.name, parentId })
      .onConflictDoUpdate({
        target: categories.path,
        set: { name: node.name, parentId, updatedAt: sql`now()` },
        setWhere: sql`(${categories.name}, ${categories.parentId}) IS DISTINCT FROM (excluded.name, excluded.parent_id)`,
      });
    const [row] = await tx.select({ id: categories.id }).from(categories).where(eq(categories.path, node.path));
    leafId = row!.id;
    parentId = leafId;
  }
  return leafId;
}

/**
 * Creates or updates a product with its categories, variants and prices. When anything really
 * changed, a `product.changed` event is recorded in the same transaction for the search index and
 * the cache; an import that changes nothing records nothing.
 */
export async function upsertProduct(tx: Executor, draft: ProductDraft): Promise<string> {
  let changed = false;
  const track = (rows: unknown[]) => {
    if (rows.length > 0) changed = true;
  };
  const values = {
    slug: draft.slug,
    title: draft.title,
    description: draft.description,
    brand: draft.brand ?? null,
    status: draft.status,
    attributes: draft.attributes,
  };
  await tx
    .insert(products)
    .values(values)
    .onConflictDoUpdate({
      target: products.slug,
      set: { ...values, updatedAt: sql`now()` },
      setWhere: sql`(${products.title}, ${products.description}, ${products.brand}, ${products.status}, ${products.attributes})
        IS DISTINCT FROM (excluded.title, excluded.description, excluded.brand, excluded.status, excluded.attributes)`,
    })
    .returning({ id: products.id })
    .then(track);
  const [product] = await tx.select({ id: products.id }).from(products).where(eq(products.slug, draft.slug));
  const productId = product!.id;

  const categoryIds: string[] = [];
  for (const chain of draft.categories) {
    const leaf = await upsertCategoryChain(tx, chain);
    if (leaf) categoryIds.push(leaf);
  }
  await tx
    .delete(productCategories)
    .where(
      and(
        eq(productCategories.productId, productId),
        categoryIds.length > 0 ? notInArray(productCategories.categoryId, categoryIds) : undefined,
      ),
    )
    .returning({ id: productCategories.categoryId })
    .then(track);
  if (categoryIds.length > 0) {
    await tx
      .insert(productCategories)
      .values(categoryIds.map((categoryId) => ({ productId, categoryId })))
      .onConflictDoNothing()
      .returning({ id: productCategories.categoryId })
      .then(track);
  }

  const skus = draft.variants.map((v) => v.sku);
  await tx
    .delete(variants)
    .where(and(eq(variants.productId, productId), notInArray(variants.sku, skus)))
    .returning({ id: variants.id })
    .then(track);
  for (const [position, variant] of draft.variants.entries()) {
    const variantValues = {
      productId,
      sku: variant.sku,
      title: variant.title,
      options: variant.options,
      weightGrams: variant.weightGrams ?? null,
      position,
    };
    await tx
      .insert(variants)
      .values(variantValues)
      .onConflictDoUpdate({
        target: variants.sku,
        set: { title: variant.title, options: variant.options, weightGrams: variantValues.weightGrams, position, updatedAt: sql`now()` },
        // A SKU never moves silently from one product to another: that row is rejected below instead.
        setWhere: sql`${variants.productId} = excluded.product_id AND
          (${variants.title}, ${variants.options}, ${variants.weightGrams}, ${variants.position})
          IS DISTINCT FROM (excluded.title, excluded.options, excluded.weight_grams, excluded.position)`,
      })
      .returning({ id: variants.id })
      .then(track);
    const [stored] = await tx
      .select({ id: variants.id, productId: variants.productId })
      .from(variants)
      .where(eq(variants.sku, variant.sku));
    if (stored!.productId !== productId) throw new SkuOwnedByAnotherProductError(`variants.${position}.sku`, variant.sku);

    const currencies = variant.prices.map((p) => p.currency);
    await tx
      .delete(prices)
      .where(and(eq(prices.variantId, stored!.id), notInArray(prices.currency, currencies)))
      .returning({ id: prices.variantId })
      .then(track);
    for (const price of variant.prices) {
      await tx
        .insert(prices)
        .values({ variantId: stored!.id, currency: price.currency, amount: price.amount, compareAtAmount: price.compareAtAmount ?? null })
        .onConflictDoUpdate({
          target: [prices.variantId, prices.currency],
          set: { amount: price.amount, compareAtAmount: price.compareAtAmount ?? null, updatedAt: sql`now()` },
          setWhere: sql`(${prices.amount}, ${prices.compareAtAmount}) IS DISTINCT FROM (excluded.amount, excluded.compare_at_amount)`,
        })
        .returning({ id: prices.variantId })
        .then(track);
    }
  }
  if (changed) await recordCatalogEvent(tx, { type: 'product.changed', aggregateId: productId, payload: { slug: draft.slug } });
  return productId;
}

export interface ProductCursor {
  createdAt: string;
  id: string;
}

export interface ProductSummaryRow {
  id: string;
  slug: string;
  title: string;
  brand: string | null;
  cursorAt: string;
  categories: string[];
  prices: { currency: string; amount: number }[];
}

// Qualified in full: inside the correlated subqueries an unqualified "id" would name the inner table's.
const outerProductId = sql`${products}.${sql.identifier('id')}`;

const summaryColumns = {
  id: products.id,
  slug: products.slug,
  title: products.title,
  brand: products.brand,
  // Microsecond text, not a JS Date: a millisecond cursor would skip or repeat rows created in the same millisecond.
  cursorAt: sql<string>`to_char(${products.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  categories: sql<string[]>`coalesce((
    SELECT json_agg(c.path ORDER BY c.path)
    FROM ${productCategories} pc JOIN ${categories} c ON c.id = pc.category_id
    WHERE pc.product_id = ${outerProductId}), '[]')`,
  prices: sql<{ currency: string; amount: number }[]>`coalesce((
    SELECT json_agg(json_build_object('currency', m.currency, 'amount', m.amount) ORDER BY m.currency)
    FROM (
      SELECT pr.currency, min(pr.amount)::int AS amount
      FROM ${variants} v JOIN ${prices} pr ON pr.variant_id = v.id
      WHERE v.product_id = ${outerProductId}
      GROUP BY pr.currency) m), '[]')`,
};

function prepareListings(db: Database) {
  const published = eq(products.status, 'published');
  const base = () => db.select(summaryColumns).from(products);
  return {
    firstPage: base()
      .where(published)
      .orderBy(asc(products.createdAt), asc(products.id))
      .limit(sql.placeholder('limit'))
      .prepare('catalog_products_first_page'),
    nextPage: base()
      .where(and(published, sql`(${products.createdAt}, ${products.id}) > (${sql.placeholder('afterAt')}::timestamptz, ${sql.placeholder('afterId')}::uuid)`))
      .orderBy(asc(products.createdAt), asc(products.id))
      .limit(sql.placeholder('limit'))
      .prepare('catalog_products_next_page'),
  };
}

// Prepared once per database handle: the listing is the hottest read of the shop, and planning it
// each time cost as much as running it.
const listings = new WeakMap<Database, ReturnType<typeof prepareListings>>();

/**
 * Published products in (created_at, id) order: a product added later sorts after every existing one,
 * so a cursor taken earlier keeps pointing at the same place. Categories and lowest prices come in
 * the same round trip.
 */
export async function listPublishedProducts(db: Database, options: { limit: number; after?: ProductCursor }): Promise<ProductSummaryRow[]> {
  let prepared = listings.get(db);
  if (!prepared) listings.set(db, (prepared = prepareListings(db)));
  return options.after
    ? prepared.nextPage.execute({ limit: options.limit, afterAt: options.after.createdAt, afterId: options.after.id })
    : prepared.firstPage.execute({ limit: options.limit });
}

export async function findPublishedProductBySlug(db: Executor, slug: string) {
  const product = await db.query.products.findFirst({
    where: and(eq(products.slug, slug), eq(products.status, 'published')),
  });
  if (!product) return undefined;
  const [variantRows, categoryRows] = await Promise.all([
    db.select().from(variants).where(eq(variants.productId, product.id)).orderBy(asc(variants.position)),
    db
      .select({ path: categories.path, name: categories.name })
      .from(productCategories)
      .innerJoin(categories, eq(categories.id, productCategories.categoryId))
      .where(eq(productCategories.productId, product.id))
      .orderBy(asc(categories.path)),
  ]);
  const priceRows =
    variantRows.length === 0
      ? []
      : await db
          .select()
          .from(prices)
          .where(
            inArray(
              prices.variantId,
              variantRows.map((v) => v.id),
            ),
          )
          .orderBy(asc(prices.currency));
  return {
    product,
    categories: categoryRows,
    variants: variantRows.map((variant) => ({
      ...variant,
      prices: priceRows.filter((p) => p.variantId === variant.id),
    })),
  };
}

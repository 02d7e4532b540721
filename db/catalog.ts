import { and, asc, desc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { TaxCategory } from '../orders/tax';
import type { Database, Executor } from '../platform/postgres';
import { recordCatalogEvent } from './outbox';
import { categories, media, prices, productCategories, products, variants } from './schema/catalog';
import { stockLevels } from './schema/inventory';

/** The parts of an imported product the catalog stores; validation happened before. */
export interface ProductDraft {
  slug: string;
  title: string;
  description: string;
  brand?: string;
  status: 'draft' | 'published';
  attributes: Record<string, string | number | boolean>;
  /** Absent: a new product is `standard`, an existing one keeps the category it has (feeds without the field leave it alone). */
  taxCategory?: TaxCategory;
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
    ...(draft.taxCategory ? { taxCategory: draft.taxCategory } : {}),
  };
  // Without a category in the draft, the stored one is compared with itself: it neither changes nor counts as a change.
  const taxCategory = draft.taxCategory ? sql`excluded.tax_category` : sql`${products.taxCategory}`;
  await tx
    .insert(products)
    .values(values)
    .onConflictDoUpdate({
      target: products.slug,
      set: { ...values, updatedAt: sql`now()` },
      setWhere: sql`(${products.title}, ${products.description}, ${products.brand}, ${products.status}, ${products.attributes}, ${products.taxCategory})
        IS DISTINCT FROM (excluded.title, excluded.description, excluded.brand, excluded.status, excluded.attributes, ${taxCategory})`,
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

/** The orders a listing can be walked in; each pages by keyset on (sort key, id). */
export type ProductListingSort = 'newest' | 'price_asc' | 'price_desc';

export interface ProductListingFilters {
  /** A category path; the category's descendants are included. */
  category?: string;
  /** Currency of the price range and of the price sorts. */
  currency: string;
  priceMin?: number;
  priceMax?: number;
  /** Attribute name → accepted values: any value of one attribute (OR), every attribute given (AND). */
  attributes?: Record<string, string[]>;
  inStock?: boolean;
}

/** Where the previous page ended: its last row's sort key (microsecond timestamp text or a price) and id. */
export interface ProductCursor {
  key: string;
  id: string;
}

export interface ProductSummaryRow {
  id: string;
  slug: string;
  title: string;
  brand: string | null;
  sortKey: string;
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

/**
 * The lowest variant price per product in the requested currency, aggregated in one pass and joined:
 * measured 3× faster than a correlated subquery per product for the price sorts.
 */
function lowestPrices(db: Database) {
  return db
    .select({ productId: variants.productId, amount: sql<number>`min(${prices.amount})`.as('amount') })
    .from(variants)
    .innerJoin(prices, eq(prices.variantId, variants.id))
    .where(sql`${prices.currency} = ${sql.placeholder('currency')}`)
    .groupBy(variants.productId)
    .as('lowest');
}

/** Which optional clauses a query has: every combination is its own prepared statement. */
interface ListingShape {
  sort: ProductListingSort;
  after: boolean;
  category: boolean;
  priceMin: boolean;
  priceMax: boolean;
  attributes: boolean;
  inStock: boolean;
}

function buildListing(db: Database, shape: ListingShape) {
  const lowest = lowestPrices(db);
  // A product with no price in the currency sorts last both ways (the int4 bounds as sentinels).
  const sort = {
    newest: { key: sql`${products.createdAt}`, descending: true, cast: sql`timestamptz` },
    price_asc: { key: sql`coalesce(${lowest.amount}, 2147483647)`, descending: false, cast: sql`int` },
    price_desc: { key: sql`coalesce(${lowest.amount}, -1)`, descending: true, cast: sql`int` },
  }[shape.sort];
  const descending = sort.descending;
  // Microsecond text, not a JS Date: a millisecond cursor would skip or repeat rows created in the same millisecond.
  const sortKey =
    shape.sort === 'newest'
      ? sql<string>`to_char(${products.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : sql<string>`${sort.key}::text`;
  const conditions = [eq(products.status, 'published')];
  if (shape.category) {
    // Descendants through parent_id, the same tree the category counts are computed on.
    conditions.push(sql`EXISTS (
      SELECT 1 FROM ${productCategories} pc
      WHERE pc.product_id = ${outerProductId} AND pc.category_id IN (
        WITH RECURSIVE subtree(id) AS (
          SELECT c.id FROM ${categories} c WHERE c.path = ${sql.placeholder('category')}
          UNION
          SELECT c.id FROM ${categories} c JOIN subtree s ON c.parent_id = s.id)
        SELECT id FROM subtree))`);
  }
  if (shape.priceMin) conditions.push(sql`${lowest.amount} >= ${sql.placeholder('priceMin')}::int`);
  if (shape.priceMax) conditions.push(sql`${lowest.amount} <= ${sql.placeholder('priceMax')}::int`);
  // One jsonpath predicate for every attribute filter: one parameter whatever the number of values,
  // and a GIN (jsonb_path_ops) index on attributes can answer it.
  if (shape.attributes) conditions.push(sql`${products.attributes} @@ ${sql.placeholder('attributes')}::jsonpath`);
  if (shape.inStock) {
    // Available units per location are never counted below zero, so "the sum is positive" is "one location has some unreserved".
    conditions.push(sql`EXISTS (
      SELECT 1 FROM ${variants} v JOIN ${stockLevels} s ON s.sku = v.sku
      WHERE v.product_id = ${outerProductId} AND s.on_hand > s.reserved)`);
  }
  if (shape.after) {
    const cursor = sql`(${sql.placeholder('afterKey')}::${sort.cast}, ${sql.placeholder('afterId')}::uuid)`;
    conditions.push(descending ? sql`(${sort.key}, ${products.id}) < ${cursor}` : sql`(${sort.key}, ${products.id}) > ${cursor}`);
  }
  const order = descending ? [sql`${sort.key} DESC`, desc(products.id)] : [sql`${sort.key} ASC`, asc(products.id)];
  const needsPrice = shape.sort !== 'newest' || shape.priceMin || shape.priceMax;
  const query = db.select({ ...summaryColumns, sortKey }).from(products).$dynamic();
  return (needsPrice ? query.leftJoin(lowest, eq(lowest.productId, products.id)) : query)
    .where(and(...conditions))
    .orderBy(...order)
    .limit(sql.placeholder('limit'))
    .prepare(`catalog_products_${Object.entries(shape).map(([k, v]) => (v === true ? k : v === false ? '' : v)).filter(Boolean).join('_')}`);
}

type PreparedListing = ReturnType<typeof buildListing>;

// Prepared once per database handle and shape: the listing is the hottest read of the shop, and
// building and planning it each time cost as much as running it. At most 3 sorts × 2^6 flags shapes.
const listings = new WeakMap<Database, Map<string, PreparedListing>>();

/** `{material: ['cuir', 'lin'], gender: ['femme']}` → `($."material" == "cuir" || …) && ($."gender" == "femme")`. */
export function attributesJsonPath(attributes: Record<string, string[]>): string {
  return Object.entries(attributes)
    .map(([name, values]) => {
      const key = `$.${JSON.stringify(name)}`;
      const alternatives = values.flatMap((value) => {
        // Query strings carry text only; a stored boolean or number matches its written form too.
        const literals = [JSON.stringify(value)];
        if (value === 'true' || value === 'false') literals.push(value);
        else if (/^-?\d+(\.\d+)?$/.test(value)) literals.push(String(Number(value)));
        return literals.map((literal) => `${key} == ${literal}`);
      });
      return `(${alternatives.join(' || ')})`;
    })
    .join(' && ');
}

/**
 * Published products matching the filters, in keyset order on (sort key, id): a product added later
 * lands on one side of a cursor taken earlier, so no page repeats or skips an existing product.
 * Categories and lowest prices come in the same round trip.
 */
export async function listPublishedProducts(
  db: Database,
  options: { limit: number; sort: ProductListingSort; filters: ProductListingFilters; after?: ProductCursor },
): Promise<ProductSummaryRow[]> {
  const { filters, after } = options;
  const attributes = filters.attributes && Object.keys(filters.attributes).length > 0 ? attributesJsonPath(filters.attributes) : undefined;
  const shape: ListingShape = {
    sort: options.sort,
    after: after !== undefined,
    category: filters.category !== undefined,
    priceMin: filters.priceMin !== undefined,
    priceMax: filters.priceMax !== undefined,
    attributes: attributes !== undefined,
    inStock: filters.inStock === true,
  };
  let byShape = listings.get(db);
  if (!byShape) listings.set(db, (byShape = new Map()));
  const shapeKey = JSON.stringify(shape);
  let prepared = byShape.get(shapeKey);
  if (!prepared) byShape.set(shapeKey, (prepared = buildListing(db, shape)));
  return prepared.execute({
    limit: options.limit,
    currency: filters.currency,
    category: filters.category,
    priceMin: filters.priceMin,
    priceMax: filters.priceMax,
    attributes,
    afterKey: after?.key,
    afterId: after?.id,
  });
}

export async function findPublishedProductBySlug(db: Executor, slug: string) {
  const product = await db.query.products.findFirst({
    where: and(eq(products.slug, slug), eq(products.status, 'published')),
  });
  if (!product) return undefined;
  const [variantRows, categoryRows, mediaRows] = await Promise.all([
    db.select().from(variants).where(eq(variants.productId, product.id)).orderBy(asc(variants.position)),
    db
      .select({ path: categories.path, name: categories.name })
      .from(productCategories)
      .innerJoin(categories, eq(categories.id, productCategories.categoryId))
      .where(eq(productCategories.productId, product.id))
      .orderBy(asc(categories.path)),
    db
      .select({ storageKey: media.storageKey, alt: media.alt, position: media.position })
      .from(media)
      .where(eq(media.productId, product.id))
      .orderBy(asc(media.position), asc(media.id)),
  ]);
  const priceRows = await pricesOfVariants(db, variantRows.map((v) => v.id));
  return {
    product,
    categories: categoryRows,
    media: mediaRows,
    variants: variantRows.map((variant) => ({
      ...variant,
      prices: priceRows.filter((p) => p.variantId === variant.id),
    })),
  };
}

export interface CategoryRow {
  id: string;
  parentId: string | null;
  path: string;
  slug: string;
  name: string;
  productCount: number;
}

/**
 * Every category with the number of published products in it or in any descendant. The closure
 * pairs each category with all its ancestors (through parent_id, as the listing's filter does), so a
 * product in two sibling subcategories counts once for their parent.
 */
export async function listCategoriesWithCounts(db: Executor): Promise<CategoryRow[]> {
  const rows = await db.execute<{ id: string; parent_id: string | null; path: string; slug: string; name: string; product_count: number }>(sql`
    WITH RECURSIVE closure(ancestor_id, category_id) AS (
      SELECT id, id FROM ${categories}
      UNION
      SELECT c.parent_id, cl.category_id FROM closure cl JOIN ${categories} c ON c.id = cl.ancestor_id
      WHERE c.parent_id IS NOT NULL),
    counts AS (
      SELECT cl.ancestor_id AS id, count(DISTINCT pc.product_id)::int AS product_count
      FROM closure cl
      JOIN ${productCategories} pc ON pc.category_id = cl.category_id
      JOIN ${products} p ON p.id = pc.product_id AND p.status = 'published'
      GROUP BY cl.ancestor_id)
    SELECT c.id, c.parent_id, c.path, c.slug, c.name, coalesce(counts.product_count, 0) AS product_count
    FROM ${categories} c LEFT JOIN counts ON counts.id = c.id
    ORDER BY c.path`);
  return rows.map((row) => ({ id: row.id, parentId: row.parent_id, path: row.path, slug: row.slug, name: row.name, productCount: row.product_count }));
}

/** Every price of the given variants, by currency: product pages, shop and admin alike, show them this way. */
export async function pricesOfVariants(db: Executor, variantIds: string[]) {
  if (variantIds.length === 0) return [];
  return db.select().from(prices).where(inArray(prices.variantId, variantIds)).orderBy(asc(prices.currency));
}

/** What another domain (carts, checkout) may know of a SKU: is it for sale, under which title, at which price in `currency`. */
export interface VariantForSale {
  sku: string;
  /** `Product — Variant` as the shopper sees it on an order. */
  title: string;
  slug: string;
  published: boolean;
  /** Null when the variant has no price in the requested currency. */
  amount: number | null;
  weightGrams: number | null;
  /** The product's VAT category; `standard` when not said. */
  taxCategory?: TaxCategory;
}

export async function variantsForSale(db: Executor, skus: string[], currency: string): Promise<Map<string, VariantForSale>> {
  if (skus.length === 0) return new Map();
  const rows = await db
    .select({
      sku: variants.sku,
      variantTitle: variants.title,
      productTitle: products.title,
      slug: products.slug,
      status: products.status,
      amount: prices.amount,
      weightGrams: variants.weightGrams,
      taxCategory: products.taxCategory,
    })
    .from(variants)
    .innerJoin(products, eq(products.id, variants.productId))
    .leftJoin(prices, and(eq(prices.variantId, variants.id), eq(prices.currency, currency)))
    .where(inArray(variants.sku, skus));
  return new Map(
    rows.map((row) => [
      row.sku,
      {
        sku: row.sku,
        title: row.variantTitle && row.variantTitle !== row.productTitle ? `${row.productTitle} — ${row.variantTitle}` : row.productTitle,
        slug: row.slug,
        published: row.status === 'published',
        amount: row.amount ?? null,
        weightGrams: row.weightGrams ?? null,
        taxCategory: row.taxCategory,
      },
    ]),
  );
}

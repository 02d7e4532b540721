import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { TypedResponse } from 'hono';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import {
  findPublishedProductBySlug,
  listPublishedProducts,
  type ProductCursor,
  type ProductListingFilters,
  type ProductListingSort,
} from '../../db/catalog';
import { availableBySku } from '../../db/inventory';
import { readCacheFor } from '../../platform/cache';
import type { AppEnv } from '../deps';
import { access } from '../auth';
import { attributeFilters, attributeParamValues, checkFilterBounds, refuseUnknownParams } from './filter-params';
import { HttpProblem, problems } from '../problem';
import { Money, pageQuery, ProblemResponses } from '../schemas';

const ProductSummary = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    brand: z.string().nullable(),
    categories: z.array(z.string()).openapi({ description: 'Category paths, e.g. `sport/chaussures/running`' }),
    priceFrom: z.array(Money).openapi({ description: 'Lowest variant price, one per currency' }),
  })
  .openapi('ProductSummary');

const ProductPage = z
  .object({
    items: z.array(ProductSummary),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  })
  .openapi('ProductPage');

const Variant = z
  .object({
    sku: z.string(),
    title: z.string(),
    options: z.record(z.string(), z.string()),
    weightGrams: z.number().int().nullable(),
    prices: z.array(Money.extend({ compareAtAmount: z.number().int().nullable() })),
    available: z.number().int().openapi({ description: 'Units on hand and not reserved for orders, over all locations: a hint, not a reservation' }),
  })
  .openapi('Variant');

const Media = z
  .object({
    url: z.string().openapi({ example: '/media/products/theiere-fonte/1.jpg' }),
    alt: z.string(),
    position: z.number().int(),
  })
  .openapi('Media');

const ProductDetail = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    brand: z.string().nullable(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    categories: z.array(z.object({ path: z.string(), name: z.string() })),
    media: z.array(Media).openapi({ description: 'Images in display order' }),
    variants: z.array(Variant),
    inStock: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('ProductDetail');

const sorts = ['newest', 'price_asc', 'price_desc', 'relevance'] as const;
type Sort = (typeof sorts)[number];

const namedParams = new Set(['limit', 'cursor', 'category', 'priceMin', 'priceMax', 'currency', 'inStock', 'sort']);

const listQuery = pageQuery
  .extend({
    category: z
      .string()
      .max(300)
      .regex(/^[a-z0-9_-]+(\/[a-z0-9_-]+)*$/, 'a category path such as mode/femme/robes')
      .optional()
      .openapi({ description: 'Category path; products of its descendants are included', example: 'mode/femme' }),
    priceMin: z.coerce.number().int().min(0).optional().openapi({ description: 'Lowest variant price in `currency`, minor units, at least' }),
    priceMax: z.coerce.number().int().min(0).optional().openapi({ description: 'Lowest variant price in `currency`, minor units, at most' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
      .default('EUR')
      .openapi({ description: 'Currency of the price range and of the price sorts' }),
    inStock: z
      .enum(['true', 'false'])
      .optional()
      .openapi({ description: '`true`: only products with a variant in stock at some location; `false` is the same as leaving it out' }),
    sort: z
      .enum(sorts)
      .default('newest')
      .openapi({ description: '`relevance` is `newest` while there is no search query; the cursor belongs to the sort it was returned for' }),
  })
  // `attr.<name>` parameters are open-ended; every other unknown parameter is refused by name.
  .catchall(attributeParamValues)
  // Even when another parameter is already wrong, so every unknown one is named in the same answer.
  .superRefine(refuseUnknownParams(namedParams), { when: () => true })
  .superRefine(checkFilterBounds);

type ListQuery = z.infer<typeof listQuery>;

const invalidCursor = (message: string) => new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message }], 400));

/**
 * Opaque to clients: the sort (and currency, for a price sort) it was taken in, the last row's sort
 * key and id. A cursor replayed under another sort would point nowhere meaningful, so it is refused.
 */
function encodeCursor(sort: Sort, currency: string, cursor: ProductCursor): string {
  return Buffer.from(JSON.stringify({ s: sort, c: currency, k: cursor.key, i: cursor.id })).toString('base64url');
}

function decodeCursor(value: string, sort: Sort, currency: string): ProductCursor {
  let parsed: { s?: unknown; c?: unknown; k?: unknown; i?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    // refused below
  }
  const { s, c, k, i } = parsed && typeof parsed === 'object' ? parsed : {};
  const keyValid = sort === 'price_asc' || sort === 'price_desc' ? typeof k === 'string' && /^-?\d{1,10}$/.test(k) : typeof k === 'string' && !Number.isNaN(Date.parse(k));
  if (typeof s !== 'string' || !sorts.includes(s as Sort) || typeof i !== 'string' || !z.uuid().safeParse(i).success) {
    throw invalidCursor('not a cursor this API returned');
  }
  if (s !== sort) throw invalidCursor(`this cursor belongs to sort=${s}, not sort=${sort}`);
  if ((sort === 'price_asc' || sort === 'price_desc') && c !== currency) throw invalidCursor(`this cursor belongs to currency=${String(c)}`);
  if (!keyValid) throw invalidCursor('not a cursor this API returned');
  return { key: k as string, id: i };
}

function filtersOf(query: ListQuery): ProductListingFilters {
  const attributes = attributeFilters(query);
  return {
    category: query.category,
    currency: query.currency,
    priceMin: query.priceMin,
    priceMax: query.priceMax,
    attributes,
    inStock: query.inStock === 'true',
  };
}

const listProducts = createRoute({
  method: 'get',
  path: '/v1/products',
  tags: ['catalog'],
  ...access('public'),
  summary: 'List published products, filtered and sorted',
  description: [
    'Filters combine with AND. Attribute filters are `attr.<name>=<value>` (e.g. `attr.material=cuir&attr.gender=femme`):',
    'repeating one attribute accepts any of its values (`attr.material=cuir&attr.material=lin`), different attributes must all match;',
    '`true`, `false` and numbers also match attributes stored as booleans or numbers. Any other unknown parameter is refused.',
    'Prices compare the lowest variant price in `currency` (default EUR); a product without a price in it sorts last.',
    'Cursor pagination on (sort key, id): pages stay stable while products are added.',
  ].join(' '),
  request: { query: listQuery },
  responses: {
    200: { description: 'A page of products', content: { 'application/json': { schema: ProductPage } } },
    ...ProblemResponses,
  },
});

const getProduct = createRoute({
  method: 'get',
  path: '/v1/products/{slug}',
  tags: ['catalog'],
  ...access('public'),
  summary: 'One published product with its variants, prices, media and availability',
  description:
    'Served from the read cache. Availability follows stock changes within one outbox drain (normally well under a second); it is advisory, checkout reserves against the stock itself.',
  request: { params: z.object({ slug: z.string().min(1).max(200) }) },
  responses: {
    200: { description: 'The product', content: { 'application/json': { schema: ProductDetail } } },
    ...ProblemResponses,
  },
});

/** Seconds a product stays cached; the outbox deletes it sooner when it changes. */
const productTtlSeconds = 300;

type CachedProduct = z.infer<typeof ProductDetail>;

/**
 * A product page as cached, availability included: the searchIndexSync workflow deletes the entry
 * when the catalog or the stock of one of its SKUs changes (both outboxes), so availability lags the
 * stock by one outbox drain, well under a second. It is advisory: checkout reserves against the stock itself.
 */
async function loadProduct(db: Parameters<typeof findPublishedProductBySlug>[0], slug: string): Promise<CachedProduct | undefined> {
  const found = await findPublishedProductBySlug(db, slug);
  if (!found) return undefined;
  const { product } = found;
  const stock = await availableBySku(
    db,
    found.variants.map((v) => v.sku),
  );
  const variants = found.variants.map((variant) => ({
    sku: variant.sku,
    title: variant.title,
    options: variant.options,
    weightGrams: variant.weightGrams,
    prices: variant.prices.map((p) => ({ amount: p.amount, currency: p.currency, compareAtAmount: p.compareAtAmount })),
    available: stock.get(variant.sku) ?? 0,
  }));
  return {
    id: product.id,
    slug: product.slug,
    title: product.title,
    description: product.description,
    brand: product.brand,
    attributes: product.attributes,
    categories: found.categories,
    media: found.media.map((m) => ({ url: `/media/${m.storageKey.split('/').map(encodeURIComponent).join('/')}`, alt: m.alt, position: m.position })),
    variants,
    inStock: variants.some((v) => v.available > 0),
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
  };
}

export function productRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(listProducts, async (c) => {
    const query = c.req.valid('query');
    const { limit, cursor, currency } = query;
    const sort: ProductListingSort = query.sort === 'relevance' ? 'newest' : query.sort;
    const { db } = c.get('deps');
    const rows = await listPublishedProducts(db, {
      limit: limit + 1,
      sort,
      filters: filtersOf(query),
      after: cursor ? decodeCursor(cursor, query.sort, currency) : undefined,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((row) => ({
          id: row.id,
          slug: row.slug,
          title: row.title,
          brand: row.brand,
          categories: row.categories,
          priceFrom: row.prices,
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(query.sort, currency, { key: last.sortKey, id: last.id }) : null,
      },
      200,
    );
  });

  app.openapi(getProduct, async (c) => {
    const { slug } = c.req.valid('param');
    const { db, redis, logger } = c.get('deps');
    const product = await readCacheFor(redis, logger).getJson(catalogCacheKeys.productBySlug(slug), 'product', productTtlSeconds, () => loadProduct(db, slug));
    if (!product) throw new HttpProblem(problems.notFound(`No published product with slug ${slug}`));
    // The cached text is the response body (ProductDetail, built by loadProduct): sent on as it is.
    return c.body(product, 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<CachedProduct, 200, 'json'>;
  });
}

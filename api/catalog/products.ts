import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { findPublishedProductBySlug, listPublishedProducts, type ProductCursor } from '../../db/catalog';
import { availableBySku } from '../../db/inventory';
import type { AppEnv } from '../deps';
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
    available: z.number().int().openapi({ description: 'Units in stock over all locations: a hint, not a reservation' }),
  })
  .openapi('Variant');

const ProductDetail = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    brand: z.string().nullable(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    categories: z.array(z.object({ path: z.string(), name: z.string() })),
    variants: z.array(Variant),
    inStock: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('ProductDetail');

const encodeCursor = (cursor: ProductCursor) => Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');

function decodeCursor(value: string): ProductCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt)) && z.uuid().safeParse(id).success) {
      return { createdAt, id };
    }
  } catch {
    // fall through to the 400 below
  }
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor this API returned' }], 400));
}

const listProducts = createRoute({
  method: 'get',
  path: '/v1/products',
  tags: ['catalog'],
  summary: 'List published products',
  description: 'Cursor pagination in creation order: pages stay stable while products are added.',
  request: { query: pageQuery },
  responses: {
    200: { description: 'A page of products', content: { 'application/json': { schema: ProductPage } } },
    ...ProblemResponses,
  },
});

const getProduct = createRoute({
  method: 'get',
  path: '/v1/products/{slug}',
  tags: ['catalog'],
  summary: 'One published product with its variants, prices and availability',
  request: { params: z.object({ slug: z.string().min(1).max(200) }) },
  responses: {
    200: { description: 'The product', content: { 'application/json': { schema: ProductDetail } } },
    ...ProblemResponses,
  },
});

export function productRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(listProducts, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const { db } = c.get('deps');
    const rows = await listPublishedProducts(db, { limit: limit + 1, after: cursor ? decodeCursor(cursor) : undefined });
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
        nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.cursorAt, id: last.id }) : null,
      },
      200,
    );
  });

  app.openapi(getProduct, async (c) => {
    const { slug } = c.req.valid('param');
    const { db } = c.get('deps');
    const found = await findPublishedProductBySlug(db, slug);
    if (!found) throw new HttpProblem(problems.notFound(`No published product with slug ${slug}`));
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
    const { product } = found;
    return c.json(
      {
        id: product.id,
        slug: product.slug,
        title: product.title,
        description: product.description,
        brand: product.brand,
        attributes: product.attributes,
        categories: found.categories,
        variants,
        inStock: variants.some((v) => v.available > 0),
        createdAt: product.createdAt.toISOString(),
        updatedAt: product.updatedAt.toISOString(),
      },
      200,
    );
  });
}

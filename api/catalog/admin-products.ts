import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  deletePrice,
  deleteProduct,
  deleteVariant,
  findAdminProduct,
  findVariant,
  isStorageKeyUsed,
  insertProduct,
  insertVariant,
  lockProduct,
  pgErrorOf,
  productVersion,
  setProductCategories,
  touchProduct,
  updateVariant,
  upsertPrice,
  type AdminProduct,
  type NewProduct,
  type ProductLock,
} from '../../db/catalog-admin';
import { mediaStoreFor } from '../../media/store';
import { taxCategories } from '../../orders/tax';
import type { Database, Executor } from '../../platform/postgres';
import { access } from '../auth';
import { accessIdempotent } from '../idempotency';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';
import { checkIfMatch, conflict, ConflictResponse, etagOf, ifMatchHeaders, PreconditionResponses } from './admin-preconditions';

export const adminProductsPath = '/v1/admin/products';

const slug = z.string().max(200).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lowercase words joined by dashes');
const sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{0,63}$/, 'must be uppercase letters, digits and dashes');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR');
const minorUnits = z.number().int('must be an integer amount in minor units').min(0);
const attributes = z.record(z.string().min(1).max(100), z.union([z.string().max(1000), z.number(), z.boolean()]));
const options = z.record(z.string().min(1).max(100), z.string().max(200));
const taxCategory = z.enum(taxCategories).openapi({ description: 'Which VAT rate of the destination applies: standard, reduced (food, books), super_reduced (the lowest rate), zero' });

const compareAtAboveAmount = (price: { amount: number; compareAtAmount?: number | null }) =>
  price.compareAtAmount === undefined || price.compareAtAmount === null || price.compareAtAmount > price.amount;
const compareAtMessage = { message: 'must be greater than amount', path: ['compareAtAmount'] };

const PriceBody = z
  .object({ amount: minorUnits, compareAtAmount: minorUnits.nullable().optional() })
  .strict()
  .refine(compareAtAboveAmount, compareAtMessage)
  .openapi('AdpriceMinInput');

const NewVariantBody = z
  .object({
    sku,
    title: z.string().min(1).max(200),
    options: options.default({}),
    weightGrams: z.number().int().positive().nullable().default(null),
    position: z.number().int().min(0).max(10_000).default(0),
    prices: z
      .array(z.object({ currency, amount: minorUnits, compareAtAmount: minorUnits.nullable().optional() }).strict().refine(compareAtAboveAmount, compareAtMessage))
      .max(50)
      .default([])
      .refine((list) => new Set(list.map((p) => p.currency)).size === list.length, 'one price per currency'),
  })
  .strict()
  .openapi('AdminNewVariant');

const nonEmpty = (value: object) => Object.keys(value).length > 0;
// Only once the fields themselves are valid: an unknown field is reported as such, not as an empty change.
export const nothingToChange = {
  message: 'nothing to change: send at least one field',
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};

const VariantPatch = z
  .object({
    sku: sku.optional(),
    title: z.string().min(1).max(200).optional(),
    options: options.optional(),
    weightGrams: z.number().int().positive().nullable().optional(),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .strict()
  .refine(nonEmpty, nothingToChange)
  .openapi('AdminVariantPatch');

const NewProductBody = z
  .object({
    slug,
    title: z.string().min(1).max(200),
    description: z.string().max(10_000).default(''),
    brand: z.string().min(1).max(100).nullable().default(null),
    status: z.enum(['draft', 'published']).default('draft').openapi({ description: 'New products are drafts unless said otherwise' }),
    attributes: attributes.default({}),
    taxCategory: taxCategory.optional().openapi({ description: 'VAT category of the product; `standard` when left out' }),
  })
  .strict()
  .openapi('AdminNewProduct');

const ProductPatch = z
  .object({
    slug: slug.optional(),
    title: z.string().min(1).max(200).optional(),
    description: z.string().max(10_000).optional(),
    brand: z.string().min(1).max(100).nullable().optional(),
    attributes: attributes.optional(),
    taxCategory: taxCategory.optional(),
  })
  .strict()
  .refine(nonEmpty, nothingToChange)
  .openapi('AdminProductPatch');

const CategoriesBody = z
  .object({ categoryIds: z.array(z.uuid()).max(50).openapi({ description: 'Every category of the product; replaces the current ones' }) })
  .strict()
  .openapi('AdminProductCategories');

const AdpriceMin = z.object({ currency: z.string(), amount: z.number().int(), compareAtAmount: z.number().int().nullable() });

const AdminVariant = z
  .object({
    id: z.uuid(),
    sku: z.string(),
    title: z.string(),
    options: z.record(z.string(), z.string()),
    weightGrams: z.number().int().nullable(),
    position: z.number().int(),
    prices: z.array(AdpriceMin),
  })
  .openapi('AdminVariant');

export const AdminMedia = z
  .object({
    id: z.uuid(),
    url: z.string().openapi({ description: 'Served by `GET /media/{key}`; immutable, cache it forever' }),
    key: z.string(),
    contentType: z.string(),
    bytes: z.number().int(),
    alt: z.string(),
    position: z.number().int(),
  })
  .openapi('AdminMedia');

const AdminProductView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    brand: z.string().nullable(),
    status: z.enum(['draft', 'published']),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    taxCategory,
    categories: z.array(z.object({ id: z.uuid(), path: z.string(), name: z.string() })),
    variants: z.array(AdminVariant),
    media: z.array(AdminMedia),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    links: z.object({ self: z.string() }),
  })
  .openapi('AdminProduct');

export const productIdParam = z.object({ id: z.uuid() });
const variantParams = productIdParam.extend({ variantId: z.uuid() });
const priceParams = variantParams.extend({ currency });

const etagHeader = z.object({ ETag: z.string().openapi({ description: 'Send it back in If-Match to change this product' }) });
export const productResponse = (description: string) => ({
  description,
  headers: etagHeader,
  content: { 'application/json': { schema: AdminProductView } },
});

const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
export const guarded = { tags: ['admin', 'catalog'], };
export const writeResponses = { ...AdminProblemResponses, ...PreconditionResponses, ...ConflictResponse } as const;

export const mediaUrl = (key: string) => `/media/${key}`;

export function productView(found: AdminProduct): z.infer<typeof AdminProductView> {
  const { product } = found;
  return {
    id: product.id,
    slug: product.slug,
    title: product.title,
    description: product.description,
    brand: product.brand,
    status: product.status,
    attributes: product.attributes,
    taxCategory: product.taxCategory,
    categories: found.categories,
    variants: found.variants.map((v) => ({
      id: v.id,
      sku: v.sku,
      title: v.title,
      options: v.options,
      weightGrams: v.weightGrams,
      position: v.position,
      prices: v.prices.map((p) => ({ currency: p.currency, amount: p.amount, compareAtAmount: p.compareAtAmount })),
    })),
    media: found.media.map((m) => ({
      id: m.id,
      url: mediaUrl(m.storageKey),
      key: m.storageKey,
      contentType: m.contentType,
      bytes: m.bytes,
      alt: m.alt,
      position: m.position,
    })),
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
    links: { self: `${adminProductsPath}/${product.id}` },
  };
}

/** The product and its version read together, so the body and the ETag describe the same state. */
async function readProduct(tx: Executor, id: string) {
  const found = await findAdminProduct(tx, id);
  if (!found) return undefined;
  return { view: productView(found), etag: etagOf((await productVersion(tx, id))!) };
}

const notFound = (id: string) => new HttpProblem(problems.notFound(`No product ${id}`));

/** Unique constraints → 409 naming the field; anything else is not ours to explain. */
const conflictFields: Record<string, [field: string, what: string]> = {
  products_slug_unique: ['slug', 'another product already has this slug'],
  variants_sku_unique: ['sku', 'another variant already has this SKU'],
  media_storage_key_unique: ['file', 'this image is already attached to the product'],
};

export async function translatingConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const pg = pgErrorOf(error);
    const known = pg?.code === '23505' && pg.constraint ? conflictFields[pg.constraint] : undefined;
    if (known) throw conflict(known[0], 'already taken', known[1]);
    throw error;
  }
}

/**
 * One admin write to a product: lock it, check If-Match against its current version, apply the change,
 * bump the product and record `product.changed`, all in one transaction; answer with the new state.
 * `change` returns the product's own fields to update, if any.
 */
export async function writeProduct(
  db: Database,
  id: string,
  ifMatch: string | undefined,
  change: (tx: Executor, locked: ProductLock) => Promise<Partial<NewProduct> | void>,
  options: { ifMatchRequired?: boolean } = {},
) {
  return translatingConflicts(() =>
    db.transaction(async (tx) => {
      const locked = await lockProduct(tx, id);
      if (!locked) throw notFound(id);
      checkIfMatch(ifMatch, (await productVersion(tx, id))!, { required: options.ifMatchRequired ?? true });
      const patch = await change(tx, locked);
      await touchProduct(tx, locked, patch ?? {});
      return (await readProduct(tx, id))!;
    }),
  );
}

export function answer<S extends 200 | 201 = 200>(c: Context<AppEnv>, result: { view: z.infer<typeof AdminProductView>; etag: string }, status?: S) {
  return c.json(result.view, (status ?? 200) as S, { ETag: result.etag });
}

const createProduct = createRoute({
  ...guarded,
  ...accessIdempotent('catalog:write', { required: false }),
  method: 'post',
  path: adminProductsPath,
  summary: 'Create a product (a draft unless `status` says otherwise)',
  request: { body: jsonBody(NewProductBody) },
  responses: { 201: productResponse('Created'), ...AdminProblemResponses, ...ConflictResponse },
});

const getProduct = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'get',
  path: `${adminProductsPath}/{id}`,
  summary: 'A product as admins see it, drafts included, with its ETag',
  request: { params: productIdParam },
  responses: { 200: productResponse('The product'), ...AdminProblemResponses },
});

const patchProduct = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'patch',
  path: `${adminProductsPath}/{id}`,
  summary: 'Change a product (If-Match required)',
  request: { params: productIdParam, headers: ifMatchHeaders, body: jsonBody(ProductPatch) },
  responses: { 200: productResponse('Changed'), ...writeResponses },
});

const removeProduct = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'delete',
  path: `${adminProductsPath}/{id}`,
  summary: 'Delete a product with its variants, prices and media (If-Match required)',
  request: { params: productIdParam, headers: ifMatchHeaders },
  responses: { 204: { description: 'Deleted' }, ...writeResponses },
});

const statusAction = (action: 'publish' | 'unpublish') =>
  createRoute({
    ...guarded,
  ...access('catalog:write'),
    method: 'post',
    path: `${adminProductsPath}/{id}/${action}`,
    summary: action === 'publish' ? 'Show the product in the shop' : 'Hide the product from the shop (it becomes a draft)',
    description: 'No body. If-Match is checked when sent. Doing it twice is harmless.',
    request: { params: productIdParam, headers: ifMatchHeaders },
    responses: { 200: productResponse('Done'), ...writeResponses },
  });

const createVariant = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'post',
  path: `${adminProductsPath}/{id}/variants`,
  summary: 'Add a variant (SKU) with its prices',
  description: 'If-Match is checked when sent. A SKU used anywhere in the catalog is a 409 naming `sku`.',
  request: { params: productIdParam, headers: ifMatchHeaders, body: jsonBody(NewVariantBody) },
  responses: { 201: productResponse('Added; the body is the whole product'), ...writeResponses },
});

const patchVariant = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'patch',
  path: `${adminProductsPath}/{id}/variants/{variantId}`,
  summary: "Change a variant (If-Match: the product's ETag)",
  request: { params: variantParams, headers: ifMatchHeaders, body: jsonBody(VariantPatch) },
  responses: { 200: productResponse('Changed; the body is the whole product'), ...writeResponses },
});

const removeVariant = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'delete',
  path: `${adminProductsPath}/{id}/variants/{variantId}`,
  summary: "Delete a variant and its prices (If-Match: the product's ETag)",
  request: { params: variantParams, headers: ifMatchHeaders },
  responses: { 200: productResponse('Deleted; the body is the whole product'), ...writeResponses },
});

const putPrice = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'put',
  path: `${adminProductsPath}/{id}/variants/{variantId}/prices/{currency}`,
  summary: "Set a variant's price in one currency (If-Match: the product's ETag)",
  request: { params: priceParams, headers: ifMatchHeaders, body: jsonBody(PriceBody) },
  responses: { 200: productResponse('Set; the body is the whole product'), ...writeResponses },
});

const removePrice = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'delete',
  path: `${adminProductsPath}/{id}/variants/{variantId}/prices/{currency}`,
  summary: "Stop selling a variant in one currency (If-Match: the product's ETag)",
  request: { params: priceParams, headers: ifMatchHeaders },
  responses: { 200: productResponse('Deleted; the body is the whole product'), ...writeResponses },
});

const putCategories = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'put',
  path: `${adminProductsPath}/{id}/categories`,
  summary: "File the product under these categories (If-Match: the product's ETag)",
  request: { params: productIdParam, headers: ifMatchHeaders, body: jsonBody(CategoriesBody) },
  responses: { 200: productResponse('Filed; the body is the whole product'), ...writeResponses },
});

async function variantOf(tx: Executor, productId: string, variantId: string) {
  const variant = await findVariant(tx, productId, variantId);
  if (!variant) throw new HttpProblem(problems.notFound(`Product ${productId} has no variant ${variantId}`));
  return variant;
}

export function adminProductRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(createProduct, async (c) => {
    const body = c.req.valid('json');
    const { db } = c.get('deps');
    const created = await translatingConflicts(() =>
      db.transaction(async (tx) => {
        const id = await insertProduct(tx, body);
        return (await readProduct(tx, id))!;
      }),
    );
    c.header('Location', created.view.links.self);
    return answer(c, created, 201);
  });

  app.openapi(getProduct, async (c) => {
    const { id } = c.req.valid('param');
    // One snapshot for the body and the ETag.
    const found = await c.get('deps').db.transaction((tx) => readProduct(tx, id), { isolationLevel: 'repeatable read', accessMode: 'read only' });
    if (!found) throw notFound(id);
    return answer(c, found);
  });

  app.openapi(patchProduct, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    return answer(c, await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async () => patch));
  });

  app.openapi(removeProduct, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.get('deps');
    const keys = await db.transaction(async (tx) => {
      const locked = await lockProduct(tx, id);
      if (!locked) throw notFound(id);
      checkIfMatch(c.req.valid('header')['if-match'], (await productVersion(tx, id))!);
      return deleteProduct(tx, locked);
    });
    await forgetMediaFiles(c, keys);
    return c.body(null, 204);
  });

  for (const action of ['publish', 'unpublish'] as const) {
    app.openapi(statusAction(action), async (c) => {
      const { id } = c.req.valid('param');
      const status = action === 'publish' ? 'published' : 'draft';
      const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async () => ({ status }), {
        ifMatchRequired: false,
      });
      return answer(c, result);
    });
  }

  app.openapi(createVariant, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await writeProduct(
      c.get('deps').db,
      id,
      c.req.valid('header')['if-match'],
      async (tx) => {
        await insertVariant(tx, id, body);
      },
      { ifMatchRequired: false },
    );
    return answer(c, result, 201);
  });

  app.openapi(patchVariant, async (c) => {
    const { id, variantId } = c.req.valid('param');
    const patch = c.req.valid('json');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      await variantOf(tx, id, variantId);
      await updateVariant(tx, variantId, patch);
    });
    return answer(c, result);
  });

  app.openapi(removeVariant, async (c) => {
    const { id, variantId } = c.req.valid('param');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      await variantOf(tx, id, variantId);
      await deleteVariant(tx, variantId);
    });
    return answer(c, result);
  });

  app.openapi(putPrice, async (c) => {
    const { id, variantId, currency: code } = c.req.valid('param');
    const price = c.req.valid('json');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      await variantOf(tx, id, variantId);
      await upsertPrice(tx, variantId, { currency: code, ...price });
    });
    return answer(c, result);
  });

  app.openapi(removePrice, async (c) => {
    const { id, variantId, currency: code } = c.req.valid('param');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      await variantOf(tx, id, variantId);
      if (!(await deletePrice(tx, variantId, code))) throw new HttpProblem(problems.notFound(`Variant ${variantId} has no price in ${code}`));
    });
    return answer(c, result);
  });

  app.openapi(putCategories, async (c) => {
    const { id } = c.req.valid('param');
    const { categoryIds } = c.req.valid('json');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      const missing = await setProductCategories(tx, id, categoryIds);
      if (missing.length > 0) {
        throw new HttpProblem(
          problems.validation(missing.map((m) => ({ in: 'body', field: `categoryIds.${categoryIds.indexOf(m)}`, message: 'no such category' }))),
        );
      }
    });
    return answer(c, result);
  });
}

/**
 * Removes stored files that no product shows any more. Runs after the deletion committed: a crash in
 * between leaves an unused file behind, never a product pointing at a missing one.
 */
export async function forgetMediaFiles(c: Context<AppEnv>, keys: string[]): Promise<void> {
  const { db, config, logger } = c.get('deps');
  const store = mediaStoreFor(config);
  for (const key of keys) {
    try {
      if (!(await isStorageKeyUsed(db, key))) await store.remove(key);
    } catch (error) {
      logger.warn({ key, err: { message: (error as Error).message } }, 'media file left behind');
    }
  }
}

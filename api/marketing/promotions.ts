/**
 * Promotions for merchandisers: create, read, list, change, switch off. A promotion that has been used
 * is never deleted (orders and invoices point at it); `active: false` retires it. The effect and the
 * conditions are validated here the way the engine reads them, so nothing stored can surprise it.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { insertPromotion, listPromotions, promotionById, updatePromotion, type NewPromotionRow, type PromotionRow } from '../../db/promotions';
import { pgErrorOf } from '../../db/catalog-admin';
import { cartById } from '../../db/carts';
import { cartView } from '../../orders/carts';
import { shippingMethods } from '../../orders/shipping';
import { access } from '../auth';
import { CartView } from '../orders/carts';
import type { AppEnv } from '../deps';
import { accessIdempotent } from '../idempotency';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses, pageQuery } from '../schemas';

export const adminPromotionsPath = '/v1/admin/promotions';

const basisPoints = z.number().int().min(1).max(10_000).openapi({ description: 'Basis points: 1000 = 10 %, 10000 = 100 %' });
const minorUnits = z.number().int().min(1).max(100_000_000).openapi({ description: 'Integer minor units of the promotion’s currency' });

const Effect = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('percent_off'), basisPoints }).strict(),
    z.object({ type: z.literal('amount_off_order'), amount: minorUnits }).strict(),
    z.object({ type: z.literal('amount_off_each'), amount: minorUnits }).strict(),
    z.object({ type: z.literal('buy_x_get_y'), buy: z.number().int().min(1).max(100), get: z.number().int().min(1).max(100), basisPoints }).strict(),
    z.object({ type: z.literal('free_shipping') }).strict(),
  ])
  .openapi('PromotionEffect', { description: 'What the promotion takes off; see the promotions engine for how each is computed' });

const ids = (what: string) => z.array(z.string().min(1).max(200)).max(500).optional().openapi({ description: `Lines whose ${what} is listed` });
const Target = z
  .object({ skus: ids('SKU'), productIds: ids('product id'), categoryIds: ids('category id') })
  .strict()
  .openapi('PromotionTarget', { description: 'Lines the promotion is on (and counts for minimum spend); absent → every line' });

const promotionFields = {
  name: z.string().trim().min(1).max(200),
  code: z
    .string()
    .trim()
    .min(3)
    .max(40)
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .transform((code) => code.toUpperCase())
    .nullable()
    .openapi({ description: 'A coupon code the shopper enters (stored upper-case); null for an automatic promotion', example: 'WELCOME10' }),
  priority: z.number().int().min(-1000).max(1000).openapi({ description: 'Higher first' }),
  stacking: z.enum(['exclusive', 'stackable']).openapi({ description: '`exclusive` applies only alone' }),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
  effect: Effect,
  target: Target.nullable(),
  minSpend: minorUnits.nullable(),
  segments: z.array(z.string().regex(/^[a-z0-9_-]{1,50}$/, 'lowercase letters, digits, - and _')).max(50).nullable(),
  firstOrderOnly: z.boolean(),
  startsAt: z.iso.datetime().nullable(),
  endsAt: z.iso.datetime().nullable(),
  active: z.boolean(),
  usageLimit: z.number().int().min(1).max(100_000_000).nullable().openapi({ description: 'Uses in all; null → unlimited' }),
  perCustomerLimit: z.number().int().min(1).max(1000).nullable().openapi({ description: 'Uses per customer; null → unlimited' }),
};

const windowIsOrdered = (value: { startsAt?: string | null; endsAt?: string | null }) => !value.startsAt || !value.endsAt || value.startsAt < value.endsAt;
const windowIssue = { message: 'must be after startsAt', path: ['endsAt'] };

const NewPromotion = z
  .object({
    ...promotionFields,
    code: promotionFields.code.default(null),
    priority: promotionFields.priority.default(0),
    stacking: promotionFields.stacking.default('stackable'),
    target: promotionFields.target.default(null),
    minSpend: promotionFields.minSpend.default(null),
    segments: promotionFields.segments.default(null),
    firstOrderOnly: promotionFields.firstOrderOnly.default(false),
    startsAt: promotionFields.startsAt.default(null),
    endsAt: promotionFields.endsAt.default(null),
    active: promotionFields.active.default(true),
    usageLimit: promotionFields.usageLimit.default(null),
    perCustomerLimit: promotionFields.perCustomerLimit.default(null),
  })
  .strict()
  .refine(windowIsOrdered, windowIssue)
  .openapi('AdminNewPromotion');

const PromotionPatch = z
  .object(Object.fromEntries(Object.entries(promotionFields).map(([key, schema]) => [key, schema.optional()])) as { [K in keyof typeof promotionFields]: z.ZodOptional<(typeof promotionFields)[K]> })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'nothing to change' })
  .openapi('AdminPromotionPatch');

const PromotionView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    code: z.string().nullable(),
    priority: z.number().int(),
    stacking: z.enum(['exclusive', 'stackable']),
    currency: z.string(),
    effect: Effect,
    target: Target.nullable(),
    minSpend: z.number().int().nullable(),
    segments: z.array(z.string()).nullable(),
    firstOrderOnly: z.boolean(),
    startsAt: z.iso.datetime().nullable(),
    endsAt: z.iso.datetime().nullable(),
    active: z.boolean(),
    usageLimit: z.number().int().nullable(),
    perCustomerLimit: z.number().int().nullable(),
    used: z.number().int().openapi({ description: 'Uses held by checkouts in progress or spent by paid orders' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    links: z.object({ self: z.string() }),
  })
  .openapi('AdminPromotion');

const PromotionList = z.object({ items: z.array(PromotionView), nextCursor: z.string().nullable() }).openapi('AdminPromotionList');

const tags = ['admin', 'marketing'];
const params = z.object({ id: z.uuid() });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: PromotionView } } });
const conflictResponse = { 409: { description: 'The coupon code is taken, or the change would break the budget already used', content: AdminProblemResponses[422].content } };

const createPromotion = createRoute({
  tags,
  ...accessIdempotent('promotions:manage', { required: false }),
  method: 'post',
  path: adminPromotionsPath,
  summary: 'Create a promotion (automatic, or a coupon with a code)',
  request: { body: { required: true, content: { 'application/json': { schema: NewPromotion } } } },
  responses: { 201: ok('Created'), ...AdminProblemResponses, ...conflictResponse },
});

const getPromotion = createRoute({
  tags,
  ...access('promotions:manage'),
  method: 'get',
  path: `${adminPromotionsPath}/{id}`,
  summary: 'A promotion with its usage',
  request: { params },
  responses: { 200: ok('The promotion'), ...AdminProblemResponses },
});

const listRoute = createRoute({
  tags,
  ...access('promotions:manage'),
  method: 'get',
  path: adminPromotionsPath,
  summary: 'Promotions, oldest first',
  request: { query: pageQuery.extend({ active: z.enum(['true', 'false']).optional() }).strict() },
  responses: { 200: { description: 'A page', content: { 'application/json': { schema: PromotionList } } }, ...AdminProblemResponses },
});

const patchPromotion = createRoute({
  tags,
  ...access('promotions:manage'),
  method: 'patch',
  path: `${adminPromotionsPath}/{id}`,
  summary: 'Change a promotion; `active: false` retires it (a used promotion is never deleted)',
  request: { params, body: { required: true, content: { 'application/json': { schema: PromotionPatch } } } },
  responses: { 200: ok('Changed'), ...AdminProblemResponses, ...conflictResponse },
});

const PreviewRequest = z
  .object({
    cartId: z.uuid(),
    couponCodes: z
      .array(z.string().trim().min(3).max(40).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'))
      .max(10)
      .optional()
      .openapi({ description: 'Codes to try instead of the ones on the cart' }),
    shippingMethod: z.enum(shippingMethods).optional(),
    shippingCountry: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as FR').optional(),
  })
  .strict()
  .refine((value) => (value.shippingMethod === undefined) === (value.shippingCountry === undefined), { message: 'give both shippingMethod and shippingCountry, or neither', path: ['shippingCountry'] })
  .openapi('AdminPromotionPreviewRequest');

const previewRoute = createRoute({
  tags,
  ...access('promotions:manage'),
  method: 'post',
  path: `${adminPromotionsPath}/preview`,
  summary: 'Price a cart with the promotions as they stand, as its owner would see it (nothing is reserved)',
  request: { body: { required: true, content: { 'application/json': { schema: PreviewRequest } } } },
  responses: { 200: { description: 'The cart priced, with the promotions that apply and why the others do not', content: { 'application/json': { schema: CartView } } }, ...AdminProblemResponses },
});

export function promotionView(row: PromotionRow): z.infer<typeof PromotionView> {
  return {
    id: row.id,
    name: row.name,
    code: row.code,
    priority: row.priority,
    stacking: row.stacking,
    currency: row.currency,
    effect: row.effect,
    target: row.target ?? null,
    minSpend: row.minSpend,
    segments: row.segments,
    firstOrderOnly: row.firstOrderOnly,
    startsAt: row.startsAt?.toISOString() ?? null,
    endsAt: row.endsAt?.toISOString() ?? null,
    active: row.active,
    usageLimit: row.usageLimit,
    perCustomerLimit: row.perCustomerLimit,
    used: row.used,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    links: { self: `${adminPromotionsPath}/${row.id}` },
  };
}

type Fields = Partial<{ [K in keyof typeof promotionFields]: z.output<(typeof promotionFields)[K]> }>;

function columnsOf(fields: Fields): Partial<NewPromotionRow> {
  const { startsAt, endsAt, ...rest } = fields;
  return {
    ...rest,
    ...(startsAt !== undefined ? { startsAt: startsAt === null ? null : new Date(startsAt) } : {}),
    ...(endsAt !== undefined ? { endsAt: endsAt === null ? null : new Date(endsAt) } : {}),
  } as Partial<NewPromotionRow>;
}

/** The database's own rules, said as the field that broke them. */
async function translatingConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const pg = pgErrorOf(error);
    const conflict = (field: string, message: string) =>
      new HttpProblem({ status: 409, slug: 'conflict', title: 'Conflict', detail: message, errors: [{ in: 'body', field, message }] });
    if (pg?.code === '23505' && pg.constraint === 'promotions_code_idx') throw conflict('code', 'another promotion has this code');
    if (pg?.code === '23514' && pg.constraint === 'promotions_used') throw conflict('usageLimit', 'below the uses already held or spent');
    if (pg?.code === '23514' && pg.constraint === 'promotions_window') throw new HttpProblem(problems.validation([{ in: 'body', field: 'endsAt', message: 'must be after startsAt' }]));
    throw error;
  }
}

export function adminPromotionRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createPromotion, async (c) => {
    const body = c.req.valid('json');
    const row = await translatingConflicts(() => insertPromotion(c.get('deps').db, columnsOf(body) as NewPromotionRow));
    return c.json(promotionView(row), 201, { Location: `${adminPromotionsPath}/${row.id}` });
  });

  app.openapi(previewRoute, async (c) => {
    const { cartId, couponCodes, shippingMethod, shippingCountry } = c.req.valid('json');
    const { db } = c.get('deps');
    const cart = await cartById(db, cartId);
    if (!cart) throw new HttpProblem(problems.validation([{ in: 'body', field: 'cartId', message: 'no such cart' }]));
    const shipping = shippingMethod && shippingCountry ? { method: shippingMethod, country: shippingCountry } : undefined;
    const view = await cartView(db, couponCodes ? { ...cart, couponCodes: couponCodes.map((code) => code.toUpperCase()) } : cart, shipping);
    return c.json(view, 200);
  });

  app.openapi(getPromotion, async (c) => {
    const { id } = c.req.valid('param');
    const row = await promotionById(c.get('deps').db, id);
    if (!row) throw new HttpProblem(problems.notFound(`No promotion ${id}`));
    return c.json(promotionView(row), 200);
  });

  app.openapi(listRoute, async (c) => {
    const { limit, cursor, active } = c.req.valid('query');
    if (cursor !== undefined && !z.uuid().safeParse(cursor).success) throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from this list' }], 400));
    const rows = await listPromotions(c.get('deps').db, { limit: limit + 1, ...(cursor ? { after: cursor } : {}), ...(active ? { active: active === 'true' } : {}) });
    const page = rows.slice(0, limit);
    return c.json({ items: page.map(promotionView), nextCursor: rows.length > limit ? page[page.length - 1]!.id : null }, 200);
  });

  app.openapi(patchPromotion, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const { db } = c.get('deps');
    const row = await translatingConflicts(() =>
      db.transaction(async (tx) => {
        const current = await promotionById(tx, id);
        if (!current) throw new HttpProblem(problems.notFound(`No promotion ${id}`));
        // The window is checked as it will be, with the side the patch leaves alone.
        const startsAt = patch.startsAt === undefined ? current.startsAt?.toISOString() : patch.startsAt;
        const endsAt = patch.endsAt === undefined ? current.endsAt?.toISOString() : patch.endsAt;
        if (!windowIsOrdered({ startsAt: startsAt ?? null, endsAt: endsAt ?? null })) throw new HttpProblem(problems.validation([{ in: 'body', field: 'endsAt', message: 'must be after startsAt' }]));
        return (await updatePromotion(tx, id, columnsOf(patch)))!;
      }),
    );
    return c.json(promotionView(row), 200);
  });
}

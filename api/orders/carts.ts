import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { addCouponCode, openCartOfAccount, removeCouponCode } from '../../db/carts';
import { CartLineRefused, cartTokenHeader, cartView, mergeAnonymousCart, openCart, ownedCart, removeLine, setLine, type CartOwner } from '../../orders/carts';
import { maxQuantityPerLine } from '../../orders/pricing';
import { shippingMethods } from '../../orders/shipping';
import { access, accountOf } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { ProblemResponses, SignedInProblemResponses } from '../schemas';

const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').openapi({ example: 'EUR' });
const Sku = z.string().min(1).max(100);

const CartLineView = z
  .object({
    sku: z.string(),
    title: z.string(),
    slug: z.string().nullable(),
    quantity: z.number().int(),
    unitAmount: z.number().int(),
    lineAmount: z.number().int(),
    discountAmount: z.number().int().openapi({ description: 'Taken off this line by promotions' }),
    taxAmount: z.number().int(),
    available: z.number().int().openapi({ description: 'Units in stock now: a hint; stock is reserved at checkout' }),
    problem: z.enum(['unknown_sku', 'not_for_sale', 'no_price_in_currency', 'quantity_above_stock']).optional(),
  })
  .openapi('CartLine');

export const CartView = z
  .object({
    id: z.uuid(),
    status: z.enum(['open', 'checked_out', 'merged', 'expired']),
    owner: z.enum(['customer', 'anonymous']),
    currency: z.string(),
    lines: z.array(CartLineView),
    subtotalAmount: z.number().int(),
    shippingAmount: z.number().int().openapi({ description: 'What shipping costs, after any free-shipping promotion' }),
    shippingDiscountAmount: z.number().int(),
    discountAmount: z.number().int().openapi({ description: 'Taken off the lines by promotions' }),
    taxAmount: z.number().int().openapi({ description: 'VAT included in the total' }),
    totalAmount: z.number().int(),
    promotions: z.array(z.object({ promotionId: z.uuid(), name: z.string(), code: z.string().optional(), amount: z.number().int() })).openapi({ description: 'What applies, and what each takes off' }),
    coupons: z
      .array(z.object({ code: z.string(), applied: z.boolean(), reason: z.string().optional().openapi({ description: 'Why it does not apply, e.g. `min_spend_not_reached`' }) }))
      .openapi({ description: 'The coupon codes on this cart' }),
    purchasable: z.boolean(),
    updatedAt: z.string(),
    token: z.string().optional().openapi({ description: 'Only when an anonymous cart is created: send it back in `X-Cart-Token`; it is not shown again' }),
  })
  .openapi('Cart');

const cartHeaders = z.object({ [cartTokenHeader]: z.string().min(1).max(100).optional().openapi({ description: 'The token of an anonymous cart' }) });
const cartParams = z.object({ id: z.uuid() });
const lineParams = cartParams.extend({ sku: Sku });
const ShippingQuery = z
  .object({
    shippingMethod: z.enum(shippingMethods).optional(),
    shippingCountry: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as FR').optional(),
  })
  .strict();

const cartResponses = (description: string) => ({ description, content: { 'application/json': { schema: CartView } } });
const CartProblems = { ...ProblemResponses, 415: SignedInProblemResponses[415], 429: SignedInProblemResponses[429] } as const;

const createCartRoute = createRoute({
  method: 'post',
  path: '/v1/carts',
  tags: ['cart'],
  summary: 'Open a cart: a signed-in customer gets their open cart (one each), anyone else a new anonymous cart and its token',
  ...access('public'),
  request: { body: { required: true, content: { 'application/json': { schema: z.object({ currency: Currency }).strict().openapi('NewCart') } } } },
  responses: { 200: cartResponses('The customer\'s open cart'), 201: cartResponses('A new cart'), ...CartProblems },
});

const getCartRoute = createRoute({
  method: 'get',
  path: '/v1/carts/{id}',
  tags: ['cart'],
  summary: 'A cart, priced now; with `shippingMethod` and `shippingCountry`, shipping and VAT for that destination',
  ...access('public'),
  request: { params: cartParams, headers: cartHeaders, query: ShippingQuery },
  responses: { 200: cartResponses('The cart'), ...CartProblems },
});

const setLineRoute = createRoute({
  method: 'put',
  path: '/v1/carts/{id}/lines/{sku}',
  tags: ['cart'],
  summary: 'Set the quantity of a SKU in the cart (adds the line if needed)',
  ...access('public'),
  request: {
    params: lineParams,
    headers: cartHeaders,
    body: { required: true, content: { 'application/json': { schema: z.object({ quantity: z.number().int().min(1).max(maxQuantityPerLine) }).strict().openapi('CartLineChange') } } },
  },
  responses: { 200: cartResponses('The cart'), ...CartProblems },
});

const removeLineRoute = createRoute({
  method: 'delete',
  path: '/v1/carts/{id}/lines/{sku}',
  tags: ['cart'],
  summary: 'Remove a SKU from the cart',
  ...access('public'),
  request: { params: lineParams, headers: cartHeaders },
  responses: { 200: cartResponses('The cart'), ...CartProblems },
});

const claimCartRoute = createRoute({
  method: 'post',
  path: '/v1/me/cart/claim',
  tags: ['cart'],
  summary: 'After signing in, bring the anonymous cart (its token in `X-Cart-Token`) into the customer\'s cart',
  ...access('account:self'),
  request: { headers: z.object({ [cartTokenHeader]: z.string().min(1).max(100) }) },
  responses: { 200: cartResponses('The customer\'s cart, with the anonymous cart\'s lines'), ...SignedInProblemResponses },
});

const myCartRoute = createRoute({
  method: 'get',
  path: '/v1/me/cart',
  tags: ['cart'],
  summary: 'The signed-in customer\'s open cart',
  ...access('account:self'),
  responses: { 200: cartResponses('The cart'), ...SignedInProblemResponses },
});

function ownerOf(c: Context<AppEnv>): CartOwner {
  const principal = c.get('principal');
  return {
    accountId: principal?.kind === 'account' ? principal.accountId : undefined,
    cartToken: c.req.header(cartTokenHeader) ?? undefined,
  };
}

const noSuchCart = () => new HttpProblem(problems.notFound('No such cart (or it is not yours)'));

async function cartOr404(c: Context<AppEnv>, id: string) {
  const cart = await ownedCart(c.get('deps').db, id, ownerOf(c));
  if (!cart) throw noSuchCart();
  return cart;
}

function requireOpen(cart: { status: string }) {
  if (cart.status !== 'open') throw new HttpProblem({ status: 409, slug: 'cart-closed', title: 'Cart closed', detail: `This cart is ${cart.status}; open a new one` });
}


const CouponCode = z
  .string()
  .trim()
  .min(3)
  .max(40)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
  .transform((code) => code.toUpperCase());
const couponParams = cartParams.extend({ code: CouponCode });

const addCouponRoute = createRoute({
  method: 'put',
  path: '/v1/carts/{id}/coupons/{code}',
  tags: ['carts'],
  ...access('public'),
  summary: 'Enter a coupon code: the cart is priced with it from now on',
  description: 'A code that does not exist, has ended, is spent, or is for another currency is a 422 naming `code`. A code whose conditions the cart does not meet yet (minimum spend, …) is kept and shown with the reason.',
  request: { params: couponParams, headers: cartHeaders },
  responses: { 200: cartResponses('The cart, priced with the coupon'), ...CartProblems, 409: CartProblems[404] },
});

const removeCouponRoute = createRoute({
  method: 'delete',
  path: '/v1/carts/{id}/coupons/{code}',
  tags: ['carts'],
  ...access('public'),
  summary: 'Remove a coupon code',
  request: { params: couponParams, headers: cartHeaders },
  responses: { 200: cartResponses('The cart without the coupon'), ...CartProblems, 409: CartProblems[404] },
});

/** A code the shopper can never use on this cart: said at once, not kept. */
const unusableCoupon = new Set(['unknown_code', 'inactive', 'not_started', 'expired', 'other_currency', 'usage_limit_reached', 'customer_limit_reached']);

export function cartRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createCartRoute, async (c) => {
    const { currency } = c.req.valid('json');
    const { db } = c.get('deps');
    const { cart, created, token } = await openCart(db, currency, { accountId: ownerOf(c).accountId });
    const view = { ...(await cartView(db, cart)), ...(token ? { token } : {}) };
    return c.json(view, created ? 201 : 200, { Location: `/v1/carts/${cart.id}`, 'Cache-Control': 'no-store' });
  });

  app.openapi(getCartRoute, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const cart = await cartOr404(c, id);
    const shipping = query.shippingMethod && query.shippingCountry ? { method: query.shippingMethod, country: query.shippingCountry } : undefined;
    return c.json(await cartView(c.get('deps').db, cart, shipping), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(setLineRoute, async (c) => {
    const { id, sku } = c.req.valid('param');
    const { quantity } = c.req.valid('json');
    const { db } = c.get('deps');
    const cart = await cartOr404(c, id);
    requireOpen(cart);
    try {
      await setLine(db, cart, sku, quantity);
    } catch (error) {
      if (error instanceof CartLineRefused) throw new HttpProblem(problems.validation([{ in: 'path', field: 'sku', message: error.message }]));
      throw error;
    }
    return c.json(await cartView(db, (await cartOr404(c, id))), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(removeLineRoute, async (c) => {
    const { id, sku } = c.req.valid('param');
    const { db } = c.get('deps');
    const cart = await cartOr404(c, id);
    requireOpen(cart);
    if (!(await removeLine(db, cart, sku))) throw new HttpProblem(problems.notFound(`${sku} is not in this cart`));
    return c.json(await cartView(db, cart), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(addCouponRoute, async (c) => {
    const { id, code } = c.req.valid('param');
    const { db } = c.get('deps');
    const cart = await cartOr404(c, id);
    requireOpen(cart);
    const trial = await cartView(db, { ...cart, couponCodes: [...cart.couponCodes.filter((each) => each !== code), code] });
    const verdict = trial.coupons.find((coupon) => coupon.code === code);
    if (verdict && !verdict.applied && verdict.reason && unusableCoupon.has(verdict.reason)) {
      throw new HttpProblem({
        ...problems.validation([{ in: 'path', field: 'code', message: verdict.reason.replaceAll('_', ' ') }]),
        extra: { reason: verdict.reason },
      });
    }
    await addCouponCode(db, cart.id, code);
    return c.json(await cartView(db, (await cartOr404(c, id))), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(removeCouponRoute, async (c) => {
    const { id, code } = c.req.valid('param');
    const { db } = c.get('deps');
    const cart = await cartOr404(c, id);
    requireOpen(cart);
    if (!(await removeCouponCode(db, cart.id, code))) throw new HttpProblem(problems.notFound(`${code} is not on this cart`));
    return c.json(await cartView(db, (await cartOr404(c, id))), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(claimCartRoute, async (c) => {
    const me = accountOf(c);
    const token = c.req.valid('header')[cartTokenHeader];
    const { db } = c.get('deps');
    const cart = await mergeAnonymousCart(db, me.accountId, token);
    if (!cart) throw noSuchCart();
    return c.json(await cartView(db, cart), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(myCartRoute, async (c) => {
    const me = accountOf(c);
    const { db } = c.get('deps');
    const cart = await openCartOfAccount(db, me.accountId);
    if (!cart) throw new HttpProblem(problems.notFound('No open cart; POST /v1/carts opens one'));
    return c.json(await cartView(db, cart), 200, { 'Cache-Control': 'no-store' });
  });
}

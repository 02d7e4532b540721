import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { CartRow } from '../../db/carts';
import { orderOfCart, type OrderRow } from '../../db/orders';
import { ownedCart, sealCheckoutAddress } from '../../orders/carts';
import { shippingMethods } from '../../orders/shipping';
import { checkoutWorkflowId, checkoutWorkflowType, placeOrderUpdate, type CheckoutInput } from '../../workflows/orders/definitions';
import { accountOf } from '../auth';
import type { AppEnv } from '../deps';
import { accessIdempotent } from '../idempotency';
import { HttpProblem, problems } from '../problem';
import { SignedInProblemResponses } from '../schemas';

const Country = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as FR');
const ShippingAddressBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).optional(),
    postalCode: z.string().trim().min(1).max(20),
    city: z.string().trim().min(1).max(100),
    region: z.string().trim().max(100).optional(),
    country: Country,
    phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +33612345678').optional(),
  })
  .strict()
  .openapi('ShippingAddress');

const CheckoutBody = z
  .object({
    cartId: z.uuid(),
    shippingAddress: ShippingAddressBody,
    shippingMethod: z.enum(shippingMethods),
    paymentToken: z.string().regex(/^tok_[A-Za-z0-9_-]{6,200}$/, 'a card token from the payment provider (tok_…); card numbers are never sent here'),
    billingCountry: Country.optional(),
  })
  .strict()
  .openapi('CheckoutRequest');

export const CheckoutResult = z
  .object({
    orderId: z.uuid(),
    status: z.string().openapi({ example: 'PAYMENT_PENDING' }),
    reason: z.string().optional(),
    totalAmount: z.number().int(),
    currency: z.string(),
    nextAction: z.object({ type: z.literal('redirect_to_confirm'), url: z.url() }).optional().openapi({ description: 'When the card needs the shopper to confirm (3-D Secure)' }),
  })
  .openapi('CheckoutResult');

const checkoutRoute = createRoute({
  method: 'post',
  path: '/v1/checkout',
  tags: ['checkout'],
  summary: 'Check a cart out: the order is created and the payment started before this answers',
  description:
    'One cart has one checkout (`checkout-<cartId>`), however many times this is posted: a repeat joins the first and gets its answer. `Idempotency-Key` is required. The rest — payment confirmation, fraud review, capture, hand-over — goes on after the answer; follow it at `GET /v1/orders/{id}` or its `/events` stream.',
  ...accessIdempotent('account:self', { required: true }),
  request: { body: { required: true, content: { 'application/json': { schema: CheckoutBody } } } },
  responses: {
    201: { description: 'The order, and what the shopper must do next if anything', content: { 'application/json': { schema: CheckoutResult } } },
    ...SignedInProblemResponses,
    409: { description: 'Out of stock, the cart is closed, or one of its coupons no longer applies', content: SignedInProblemResponses[401].content },
  },
});

/** What the checkout's refusals mean over HTTP. */
function refusal(failure: ApplicationFailure): HttpProblem {
  const details = failure.details?.[0];
  switch (failure.type) {
    case 'CartNotFound':
      return new HttpProblem(problems.notFound('No such cart (or it is not yours)'));
    case 'CartNotPurchasable':
      return new HttpProblem({
        ...problems.validation([{ in: 'body', field: 'cartId', message: failure.message }]),
        extra: { lines: details },
      });
    case 'InsufficientStock':
      return new HttpProblem({ status: 409, slug: 'out-of-stock', title: 'Out of stock', detail: failure.message, extra: { shortages: details } });
    case 'CouponNotApplicable':
    case 'PromotionUnavailable':
      // The cart's coupons are what changed: the shopper removes the code (DELETE /v1/carts/{id}/coupons/{code}) or tries again.
      return new HttpProblem({ status: 409, slug: 'coupon-unavailable', title: 'Coupon no longer available', detail: failure.message, extra: { coupons: details } });
    case 'CartClosed':
      return new HttpProblem({ status: 409, slug: 'cart-closed', title: 'Cart closed', detail: failure.message });
    default:
      return new HttpProblem({ status: 409, slug: 'checkout-refused', title: 'Checkout refused', detail: failure.message });
  }
}

const placedView = (order: OrderRow) => ({
  orderId: order.id,
  status: order.status,
  ...(order.statusReason ? { reason: order.statusReason } : {}),
  totalAmount: order.totalAmount,
  currency: order.currency,
});

/** Seconds a shopper is asked to wait when checkouts are shed: about one saga's placement under load. */
const busyRetryAfterSeconds = 2;

export function checkoutRoutes(app: OpenAPIHono<AppEnv>): void {
  // Placements in flight in this process (CHECKOUT_MAX_IN_FLIGHT bounds them).
  let placing = 0;
  app.openapi(checkoutRoute, async (c) => {
    const me = accountOf(c);
    const body = c.req.valid('json');
    const { db, config } = c.get('deps');
    // Refused here, before any workflow exists: a cart that is not yours looks like no cart at all.
    const cart = await ownedCart(db, body.cartId, { accountId: me.accountId });
    if (!cart) throw new HttpProblem(problems.notFound('No such cart (or it is not yours)'));
    // One cart, one checkout: a cart already checked out answers with its order, however late the repeat.
    const placed = cart.status === 'checked_out' ? await orderOfCart(db, cart.id) : undefined;
    if (placed) return c.json(placedView(placed), 201, { Location: `/v1/orders/${placed.id}` });

    const bound = config.CHECKOUT_MAX_IN_FLIGHT;
    if (bound > 0 && placing >= bound) {
      // Nothing was started: the same request (same Idempotency-Key) can simply be sent again.
      throw new HttpProblem({
        status: 503,
        slug: 'checkout-busy',
        title: 'Checkouts are busy',
        detail: `Too many checkouts are being placed right now; retry after ${busyRetryAfterSeconds} s`,
        headers: { 'Retry-After': String(busyRetryAfterSeconds) },
      });
    }
    placing += 1;
    try {
      return await placeOrder(c, cart, me.accountId, body);
    } finally {
      placing -= 1;
    }
  });
}

type CheckoutRequestBody = z.infer<typeof CheckoutBody>;

/** Update-with-Start on the cart's checkout workflow; answers with the order, or the refusal as a problem. */
async function placeOrder(c: Context<AppEnv>, cart: CartRow, accountId: string, body: CheckoutRequestBody) {
  const { db, config, temporal } = c.get('deps');
  const input: CheckoutInput = { cartId: cart.id, accountId, paymentTaskQueue: config.taskQueues.payments, fulfilmentTaskQueue: config.taskQueues.fulfilment, workflowIdPrefix: config.TASK_QUEUE_PREFIX };
  const startWorkflowOperation = new WithStartWorkflowOperation(checkoutWorkflowType, {
    workflowId: checkoutWorkflowId(config.TASK_QUEUE_PREFIX, cart.id),
    taskQueue: config.taskQueues.orders,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    const { shippingAddress, shippingMethod, paymentToken, billingCountry } = body;
    const result = await temporal.client.workflow.executeUpdateWithStart(placeOrderUpdate, {
      args: [
        {
          shippingAddressSealed: sealCheckoutAddress(config, cart.id, shippingAddress),
          shippingCountry: shippingAddress.country,
          shippingMethod,
          paymentToken,
          ...(billingCountry ? { billingCountry } : {}),
        },
      ],
      startWorkflowOperation,
    });
    return c.json(result, 201, { Location: `/v1/orders/${result.orderId}` });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      // The first checkout of this cart finished between our look and the update: answer with its order.
      const placedMeanwhile = cause instanceof ApplicationFailure && cause.type === 'CartClosed' ? await orderOfCart(db, cart.id) : undefined;
      if (placedMeanwhile) return c.json(placedView(placedMeanwhile), 201, { Location: `/v1/orders/${placedMeanwhile.id}` });
      if (cause instanceof ApplicationFailure) throw refusal(cause);
      throw new HttpProblem({ status: 409, slug: 'checkout-refused', title: 'Checkout refused', detail: cause?.message ?? error.message });
    }
    throw error;
  }
}

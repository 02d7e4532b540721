import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { orderById, orderLinesOf, ordersOfAccount, statusHistoryOf, type OrderRow } from '../../db/orders';
import { orderNotificationFeed } from '../../notifications/in-app';
import { cancelOrderUpdate, fraudDecisionSignal } from '../../workflows/orders/definitions';
import { trackingEventsAfter } from '../../db/fulfilment';
import { trackingEventView } from '../fulfilment/tracking';
import { access, accountOf, recordAudit, requireOwnerOrStaff } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses, pageQuery, SignedInProblemResponses } from '../schemas';

const OrderSummary = z
  .object({
    id: z.uuid(),
    status: z.string(),
    statusReason: z.string().nullable(),
    currency: z.string(),
    totalAmount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('OrderSummary');

const OrderDetail = OrderSummary.extend({
  subtotalAmount: z.number().int(),
  shippingAmount: z.number().int(),
  discountAmount: z.number().int(),
  taxAmount: z.number().int(),
  shippingMethod: z.string(),
  shippingCountry: z.string(),
  lines: z.array(z.object({ sku: z.string(), title: z.string(), quantity: z.number().int(), unitAmount: z.number().int(), lineAmount: z.number().int(), taxAmount: z.number().int() })),
  history: z.array(z.object({ status: z.string(), reason: z.string().nullable(), at: z.string() })),
}).openapi('Order');

const OrderPage = z.object({ orders: z.array(OrderSummary), nextCursor: z.string().nullable() }).openapi('OrderPage');
const orderParams = z.object({ id: z.uuid() });
/** Where an order's story ends: the stream stops there (a CONFIRMED order still has its parcels to follow). */
const terminalStatuses = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

const listRoute = createRoute({
  method: 'get',
  path: '/v1/orders',
  tags: ['orders'],
  summary: 'My orders, newest first',
  ...access('account:self'),
  request: { query: pageQuery },
  responses: { 200: { description: 'A page of orders', content: { 'application/json': { schema: OrderPage } } }, ...SignedInProblemResponses },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}',
  tags: ['orders'],
  summary: 'An order with its lines and status history (the owner, or staff with orders:read)',
  ...access('account:self'),
  request: { params: orderParams },
  responses: { 200: { description: 'The order', content: { 'application/json': { schema: OrderDetail } } }, ...SignedInProblemResponses },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/orders/{id}/cancel',
  tags: ['orders'],
  summary: 'Cancel an order before its payment is captured; the compensations run before this answers',
  ...access('account:self'),
  request: {
    params: orderParams,
    body: { required: false, content: { 'application/json': { schema: z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict().openapi('CancelOrder') } } },
  },
  responses: {
    200: { description: 'The order, cancelled', content: { 'application/json': { schema: OrderDetail } } },
    ...SignedInProblemResponses,
    409: { description: 'Too late: the payment is captured (ask for a return), or the order already ended', content: SignedInProblemResponses[401].content },
  },
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/events',
  tags: ['orders'],
  summary: 'Server-sent events: each status of the order as it happens, from the first; ends when the order does',
  ...access('account:self'),
  request: { params: orderParams },
  responses: {
    200: {
      description: '`event: status` with `{status, reason, at}`; `event: tracking` with each parcel movement (`TrackingEvent`, as in `GET /v1/orders/{id}/tracking`); `event: notification` with each in-app message about the order (`{id, orderId, event, subject, body, at}`)',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...SignedInProblemResponses,
  },
});

const fraudRoute = createRoute({
  method: 'post',
  path: '/v1/admin/orders/{id}/fraud-decision',
  tags: ['admin', 'orders'],
  summary: 'Approve or reject an order waiting in FRAUD_REVIEW (the `fraudDecision` signal)',
  ...access('orders:manage'),
  request: {
    params: orderParams,
    body: { required: true, content: { 'application/json': { schema: z.object({ decision: z.enum(['approve', 'reject']), note: z.string().max(500).optional() }).strict().openapi('FraudDecision') } } },
  },
  responses: { 202: { description: 'Decision sent to the checkout' }, ...AdminProblemResponses },
});

const iso = (date: Date) => date.toISOString();

function summary(order: OrderRow) {
  return {
    id: order.id,
    status: order.status,
    statusReason: order.statusReason,
    currency: order.currency,
    totalAmount: order.totalAmount,
    createdAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
  };
}

async function detail(c: Context<AppEnv>, order: OrderRow) {
  const { db } = c.get('deps');
  const [lines, history] = await Promise.all([orderLinesOf(db, order.id), statusHistoryOf(db, order.id)]);
  return {
    ...summary(order),
    subtotalAmount: order.subtotalAmount,
    shippingAmount: order.shippingAmount,
    discountAmount: order.discountAmount,
    taxAmount: order.taxAmount,
    shippingMethod: order.shippingMethod,
    shippingCountry: order.shippingCountry,
    lines: lines.map(({ sku, title, quantity, unitAmount, lineAmount, taxAmount }) => ({ sku, title, quantity, unitAmount, lineAmount, taxAmount })),
    history: history.map((entry) => ({ status: entry.status, reason: entry.reason, at: iso(entry.occurredAt) })),
  };
}

/** The order if the caller owns it or holds `staffPermission`; 404 otherwise, so order ids cannot be probed. */
async function visibleOrder(c: Context<AppEnv>, id: string, staffPermission: 'orders:read' | 'orders:manage'): Promise<OrderRow> {
  const order = await orderById(c.get('deps').db, id);
  requireOwnerOrStaff(c, order?.accountId, staffPermission, 'order');
  // Staff pass the ownership check for any id, so a missing order is still theirs to be told about.
  if (!order) throw new HttpProblem(problems.notFound(`No order ${id}`));
  return order;
}

const encodeCursor = (order: OrderRow) => Buffer.from(`${order.createdAt.toISOString()}|${order.id}`).toString('base64url');
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from this list' }], 400));
  return { createdAt, id };
}

export function orderReadRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const me = accountOf(c);
    const { limit, cursor } = c.req.valid('query');
    const rows = await ordersOfAccount(c.get('deps').db, me.accountId, limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const page = rows.slice(0, limit);
    return c.json({ orders: page.map(summary), nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const order = await visibleOrder(c, c.req.valid('param').id, 'orders:read');
    return c.json(await detail(c, order), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(cancelRoute, async (c) => {
    const order = await visibleOrder(c, c.req.valid('param').id, 'orders:manage');
    // The body is optional; when present the route's schema has validated it already.
    const reason = (c.req.header('content-length') ?? '0') !== '0' ? (c.req.valid('json') as { reason?: string }).reason : undefined;
    const { temporal, db } = c.get('deps');
    try {
      await temporal.client.workflow.getHandle(order.workflowId).executeUpdate(cancelOrderUpdate, { args: [{ reason: reason ?? 'cancelled by the customer' }] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) {
        throw new HttpProblem({ status: 409, slug: 'cannot-cancel', title: 'The order cannot be cancelled', detail: (error.cause instanceof Error ? error.cause.message : undefined) ?? error.message });
      }
      throw error;
    }
    await recordAudit(c, { action: 'orders.cancel_requested', targetType: 'order', targetId: order.id, details: { reason: reason ?? null } });
    return c.json(await detail(c, (await orderById(db, order.id))!), 200);
  });

  app.openapi(eventsRoute, async (c) => {
    const order = await visibleOrder(c, c.req.valid('param').id, 'orders:read');
    const { db } = c.get('deps');
    return streamSSE(c, async (stream) => {
      let sent = 0;
      let lastTrackingId = 0;
      const notifications = orderNotificationFeed(db, order.id);
      // The history table is the record; polling it keeps the stream right across API processes and restarts.
      while (!stream.aborted) {
        for (const event of await trackingEventsAfter(db, order.id, lastTrackingId)) {
          await stream.writeSSE({ event: 'tracking', id: `tracking-${event.id}`, data: JSON.stringify(trackingEventView(event)) });
          lastTrackingId = event.id;
        }
        const history = await statusHistoryOf(db, order.id);
        for (const entry of history.slice(sent)) {
          await stream.writeSSE({ event: 'status', id: String(entry.id), data: JSON.stringify({ status: entry.status, reason: entry.reason, at: iso(entry.occurredAt) }) });
        }
        sent = history.length;
        for (const message of await notifications.next()) await stream.writeSSE(message);
        // The message announcing the end is written just after the status: wait for it before closing.
        if (history.some((entry) => terminalStatuses.has(entry.status)) && (await notifications.settled())) break;
        await stream.sleep(500);
      }
    }) as never;
  });

  app.openapi(fraudRoute, async (c) => {
    const order = await visibleOrder(c, c.req.valid('param').id, 'orders:manage');
    const { decision, note } = c.req.valid('json');
    try {
      await c.get('deps').temporal.client.workflow.getHandle(order.workflowId).signal(fraudDecisionSignal, { decision, ...(note ? { note } : {}) });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new HttpProblem({ status: 409, slug: 'checkout-ended', title: 'The checkout has ended', detail: 'This order is no longer waiting for a decision' });
      throw error;
    }
    await recordAudit(c, { action: 'orders.fraud_decision', targetType: 'order', targetId: order.id, details: { decision } });
    return c.body(null, 202);
  });
}

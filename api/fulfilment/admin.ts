/**
 * Ops on parcels that wait for a person: the list of escalated shipments, and the decision that answers
 * one (`resolveEscalation` signal to the order's fulfilment workflow: reship, wait or refund). Decisions
 * are audited with who, which shipment and what; the workflow keeps them in its state too.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, asc, eq, gt, isNotNull, or } from 'drizzle-orm';
import { shipmentById } from '../../db/fulfilment';
import { orderById } from '../../db/orders';
import { shipmentAttentions, shipments } from '../../db/schema/fulfilment';
import { fulfilmentStateQuery, fulfilmentWorkflowId, resolveEscalationSignal, shipmentDecisions } from '../../workflows/fulfilment/definitions';
import { access, accountOf, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';

const EscalatedShipment = z
  .object({
    id: z.uuid(),
    orderId: z.uuid(),
    fromLocation: z.string(),
    status: z.string(),
    attention: z.enum(shipmentAttentions),
    exceptionDetail: z.string().nullable(),
    trackingNumber: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('EscalatedShipment');

const listRoute = createRoute({
  method: 'get',
  path: '/v1/admin/shipments/escalated',
  tags: ['admin', 'fulfilment'],
  summary: 'Shipments waiting for an ops decision (missed pick-up, exception, refused booking, returned to sender), oldest first',
  ...access('orders:read'),
  request: {
    query: z
      .object({
        attention: z.enum(shipmentAttentions).optional(),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().min(1).max(500).optional(),
      })
      .strict(),
  },
  responses: {
    200: { description: 'A page of escalated shipments', content: { 'application/json': { schema: z.object({ shipments: z.array(EscalatedShipment), nextCursor: z.string().nullable() }).openapi('EscalatedShipmentPage') } } },
    ...AdminProblemResponses,
  },
});

const ShipmentDecisionBody = z
  .object({
    decision: z.enum(shipmentDecisions).openapi({
      description:
        '`reship`: a new parcel with the same lines (units the carrier holds are replaced from available stock); `wait`: keep following the parcel (a missed pick-up gets another 48 h); `refund`: give the parcel up, put uncollected units back on hand and refund its lines',
    }),
    note: z.string().trim().min(1).max(500).optional(),
  })
  .strict()
  .openapi('ShipmentDecision');

const decisionRoute = createRoute({
  method: 'post',
  path: '/v1/admin/orders/{id}/shipments/{shipmentId}/decision',
  tags: ['admin', 'fulfilment'],
  summary: 'Answer an escalated shipment (the `resolveEscalation` signal); audited',
  ...access('orders:manage'),
  request: {
    params: z.object({ id: z.uuid(), shipmentId: z.uuid() }),
    body: { required: true, content: { 'application/json': { schema: ShipmentDecisionBody } } },
  },
  responses: {
    202: { description: 'Decision sent to the fulfilment workflow; `GET /v1/orders/{id}/tracking` shows its effect' },
    ...AdminProblemResponses,
    409: { description: 'The shipment waits for no decision, or its fulfilment has ended', content: AdminProblemResponses[404].content },
  },
});

const encodeCursor = (row: { updatedAt: Date; id: string }) => Buffer.from(`${row.updatedAt.toISOString()}|${row.id}`).toString('base64url');
function decodeCursor(cursor: string): { updatedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const updatedAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/i.test(id) || Number.isNaN(updatedAt.getTime())) {
    throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from this list' }], 400));
  }
  return { updatedAt, id };
}

const notWaiting = (detail: string) => new HttpProblem({ status: 409, slug: 'no-decision-pending', title: 'Nothing to decide', detail });

export function fulfilmentAdminRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const { attention, limit, cursor } = c.req.valid('query');
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await c
      .get('deps')
      .db.select()
      .from(shipments)
      .where(
        and(
          attention ? eq(shipments.attention, attention) : isNotNull(shipments.attention),
          after ? or(gt(shipments.updatedAt, after.updatedAt), and(eq(shipments.updatedAt, after.updatedAt), gt(shipments.id, after.id))) : undefined,
        ),
      )
      .orderBy(asc(shipments.updatedAt), asc(shipments.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return c.json(
      {
        shipments: page.map((row) => ({
          id: row.id,
          orderId: row.orderId,
          fromLocation: row.fromLocation,
          status: row.status,
          attention: row.attention!,
          exceptionDetail: row.exceptionDetail,
          trackingNumber: row.trackingNumber,
          updatedAt: row.updatedAt.toISOString(),
        })),
        nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null,
      },
      200,
    );
  });

  app.openapi(decisionRoute, async (c) => {
    const { id, shipmentId } = c.req.valid('param');
    const { decision, note } = c.req.valid('json');
    const { db, temporal, config } = c.get('deps');
    const [order, shipment] = await Promise.all([orderById(db, id), shipmentById(db, shipmentId)]);
    if (!order || !shipment || shipment.orderId !== order.id) throw new HttpProblem({ status: 404, slug: 'not-found', title: 'Not Found', detail: 'No such shipment on this order' });
    const handle = temporal.client.workflow.getHandle(fulfilmentWorkflowId(config.TASK_QUEUE_PREFIX, order.id));
    try {
      // The workflow is the judge of what waits for a decision (the table may lag it by an activity).
      const state = await handle.query(fulfilmentStateQuery);
      const view = state.shipments.find((s) => s.shipmentId === shipmentId);
      if (!view?.attention) throw notWaiting(`Shipment ${shipmentId} is ${view?.status ?? shipment.status} and waits for no decision`);
      await handle.signal(resolveEscalationSignal, { shipmentId, decision, actor: accountOf(c).accountId, ...(note ? { note } : {}) });
      await recordAudit(c, { action: 'fulfilment.shipment_decision', targetType: 'shipment', targetId: shipmentId, details: { orderId: order.id, decision, attention: view.attention } });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notWaiting('The fulfilment of this order has ended');
      throw error;
    }
    return c.body(null, 202);
  });
}

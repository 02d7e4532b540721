import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { Context } from 'hono';
import { createHash } from 'node:crypto';
import { orderById } from '../../db/orders';
import { ledgerBalance } from '../../db/payments';
import { deleteRequestedReturn, returnById, returnLinesOf, returnLinesOfMany, returnsOfOrder, type ReturnLineRow, type ReturnRow } from '../../db/returns';
import { enqueueOrderEvent } from '../../notifications/order-events';
import { requestReturn, ReturnRefused } from '../../returns/requests';
import { checkInspection } from '../../returns/rules';
import { searchAttributeKeys } from '../../workflows/orders/definitions';
import { paymentStateQuery, paymentWorkflowId, refundPaymentUpdate, type RefundPaymentResult } from '../../workflows/payments/definitions';
import {
  inspectionDecisionSignal,
  returnReceivedSignal,
  returnWorkflowId,
  returnWorkflowType,
  type ReturnWorkflowInput,
} from '../../workflows/returns/definitions';
import { access, accountOf, recordAudit, requireOwnerOrStaff } from '../auth';
import type { AppEnv } from '../deps';
import { accessIdempotent, idempotencyKeyHeader, idempotencyScope } from '../idempotency';
import type { Executor } from '../../platform/postgres';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses, Money, SignedInProblemResponses } from '../schemas';

const idParams = z.object({ id: z.uuid() });
const problemContent = SignedInProblemResponses[401].content;
const sku = z.string().trim().min(1).max(100);

const ReturnBody = z
  .object({
    lines: z.array(z.object({ sku, quantity: z.number().int().min(1).max(999) }).strict()).min(1).max(100),
    reason: z.string().trim().min(1).max(500),
  })
  .strict()
  .openapi('ReturnRequest');

const ReturnView = z
  .object({
    id: z.uuid(),
    orderId: z.uuid(),
    status: z.string().openapi({ example: 'authorised' }),
    statusReason: z.string().nullable(),
    reason: z.string(),
    lines: z.array(
      z.object({
        sku: z.string(),
        quantity: z.number().int(),
        paid: Money.openapi({ description: 'What was paid for these units, VAT included: the most this line can refund' }),
        accepted: z.number().int().nullable(),
        rejected: z.number().int().nullable(),
        restocked: z.boolean(),
      }),
    ),
    label: z.object({ trackingNumber: z.string(), labelUrl: z.string() }).nullable(),
    receivedVia: z.enum(['carrier', 'ops']).nullable(),
    receivedAt: z.string().nullable(),
    inspectedAt: z.string().nullable(),
    refund: z.object({ refundId: z.string(), amount: Money, refundedAt: z.string().nullable() }).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Return');

const InspectionBody = z
  .object({
    lines: z.array(z.object({ sku, accepted: z.number().int().min(0).max(999), rejected: z.number().int().min(0).max(999) }).strict()).min(1).max(100),
    note: z.string().trim().min(1).max(1000).optional(),
  })
  .strict()
  .openapi('InspectionDecision');

const ReceiptBody = z.object({ note: z.string().trim().min(1).max(1000).optional() }).strict().openapi('ReturnReceipt');

const GoodwillBody = z
  .object({
    amount: Money.extend({ amount: z.number().int().min(1).openapi({ description: 'Integer minor units (cents)', example: 500 }) }),
    reason: z.string().trim().min(1).max(500),
  })
  .strict()
  .openapi('GoodwillRefundRequest');

const RefundView = z
  .object({
    refundId: z.string(),
    orderId: z.uuid().optional(),
    amount: Money,
    status: z.enum(['pending', 'succeeded', 'failed']),
  })
  .openapi('Refund');

const createReturnRoute = createRoute({
  method: 'post',
  path: '/v1/orders/{id}/returns',
  tags: ['returns'],
  summary: 'Send lines of a delivered order back, within its return window',
  description:
    'Only the order\'s owner, only once it is COMPLETED and until `returnWindowEndsAt`; each line a line of the order, for no more units than were bought minus those already returned or in a return. Answers at once with the return; its `returnAndRefund` workflow books the label, waits for the parcel and the inspection, restocks and refunds the accepted lines. `Idempotency-Key` is required.',
  ...accessIdempotent('account:self', { required: true }),
  request: { params: idParams, body: { required: true, content: { 'application/json': { schema: ReturnBody } } } },
  responses: {
    202: { description: 'The return, accepted; follow it at `GET /v1/returns/{id}`', content: { 'application/json': { schema: ReturnView } } },
    ...SignedInProblemResponses,
    409: { description: 'The order is not delivered yet', content: problemContent },
  },
});

const orderReturnsRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/returns',
  tags: ['returns'],
  summary: 'The returns of an order, newest first (the owner, or staff with orders:read)',
  ...access('account:self'),
  request: { params: idParams },
  responses: { 200: { description: 'The returns', content: { 'application/json': { schema: z.object({ returns: z.array(ReturnView) }).openapi('ReturnList') } } }, ...SignedInProblemResponses },
});

const getReturnRoute = createRoute({
  method: 'get',
  path: '/v1/returns/{id}',
  tags: ['returns'],
  summary: 'A return (the owner, or staff with orders:read)',
  ...access('account:self'),
  request: { params: idParams },
  responses: { 200: { description: 'The return', content: { 'application/json': { schema: ReturnView } } }, ...SignedInProblemResponses },
});

const receiptRoute = createRoute({
  method: 'post',
  path: '/v1/admin/returns/{id}/receipt',
  tags: ['admin', 'returns'],
  summary: 'The return parcel arrived at the warehouse (the `returnReceived` signal), whatever the carrier said',
  ...access('orders:manage'),
  request: { params: idParams, body: { required: false, content: { 'application/json': { schema: ReceiptBody } } } },
  responses: { 202: { description: 'Receipt sent to the return' }, ...AdminProblemResponses, 409: { description: 'The return is not waiting for its parcel', content: problemContent } },
});

const inspectionRoute = createRoute({
  method: 'post',
  path: '/v1/admin/returns/{id}/inspection',
  tags: ['admin', 'returns'],
  summary: 'The inspection decision (the `inspectionDecision` signal): accepted and rejected units per returned line',
  description: 'Every returned line once, with accepted + rejected = the units returned. Accepted units are restocked and refunded; rejected ones are neither.',
  ...access('orders:manage'),
  request: { params: idParams, body: { required: true, content: { 'application/json': { schema: InspectionBody } } } },
  responses: { 202: { description: 'Decision sent to the return' }, ...AdminProblemResponses, 409: { description: 'The parcel is not received yet, or the return was inspected already', content: problemContent } },
});

const goodwillRoute = createRoute({
  method: 'post',
  path: '/v1/orders/{id}/refunds',
  tags: ['refunds'],
  summary: 'A goodwill refund without a return (support), through the order\'s payment workflow; audited',
  description:
    'Never more than what was captured minus what is refunded or being refunded, even under concurrent requests: the payment workflow decides them one at a time and refuses the excess (409). `Idempotency-Key` is required; the refund id is derived from it, so a retry never refunds twice.',
  ...accessIdempotent('refunds:goodwill', { required: true }),
  request: { params: idParams, body: { required: true, content: { 'application/json': { schema: GoodwillBody } } } },
  responses: {
    201: { description: 'Refunded', content: { 'application/json': { schema: RefundView } } },
    202: { description: 'Accepted and under way at the provider; follow it at `GET /v1/orders/{id}/refunds`', content: { 'application/json': { schema: RefundView } } },
    ...AdminProblemResponses,
    409: { description: 'More than is left to refund, nothing captured, or the provider refused', content: problemContent },
  },
});

const refundsRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/refunds',
  tags: ['refunds'],
  summary: 'The refunds of an order, from its payment (the owner, or staff with orders:read)',
  ...access('account:self'),
  request: { params: idParams },
  responses: { 200: { description: 'The refunds', content: { 'application/json': { schema: z.object({ refunds: z.array(RefundView) }).openapi('RefundList') } } }, ...SignedInProblemResponses },
});

/** How long the goodwill route waits for the provider's answer before answering 202 with the refund pending. */
const goodwillWaitMs = 5_000;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** A UUID from a digest (version 8, "custom"): the same key always names the same return. */
function uuidFrom(digest: string): string {
  const hex = digest.slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** Derived from who asked and their Idempotency-Key: a request retried after a failure finds what the first one made. */
function idFromIdempotencyKey(c: Context<AppEnv>, purpose: string): string {
  const key = c.req.header(idempotencyKeyHeader) ?? '';
  return createHash('sha256').update(`${purpose}\n${idempotencyScope(c)}\n${key}`).digest('hex');
}

function view(row: ReturnRow, lines: ReturnLineRow[]) {
  return {
    id: row.id,
    orderId: row.orderId,
    status: row.status,
    statusReason: row.statusReason,
    reason: row.reason,
    lines: lines.map((line) => ({
      sku: line.sku,
      quantity: line.quantity,
      paid: { amount: line.paidAmount, currency: row.currency },
      accepted: line.acceptedQuantity,
      rejected: line.rejectedQuantity,
      restocked: line.restockedAt !== null,
    })),
    label: row.trackingNumber && row.labelUrl ? { trackingNumber: row.trackingNumber, labelUrl: row.labelUrl } : null,
    receivedVia: row.receivedVia,
    receivedAt: iso(row.receivedAt),
    inspectedAt: iso(row.inspectedAt),
    refund: row.refundId && row.refundAmount ? { refundId: row.refundId, amount: { amount: row.refundAmount, currency: row.currency }, refundedAt: iso(row.refundedAt) } : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function refusalOf(error: ReturnRefused): HttpProblem {
  const { refusal } = error;
  switch (refusal.kind) {
    case 'not_delivered':
      return new HttpProblem({
        status: 409,
        slug: 'order-not-returnable',
        title: 'The order cannot be returned yet',
        detail: 'Returns open once every parcel of the order is delivered (status COMPLETED)',
        errors: [{ in: 'path', field: 'id', message: 'the order is not delivered yet' }],
      });
    case 'window_closed':
      return new HttpProblem({
        status: 422,
        slug: 'return-window-closed',
        title: 'Outside the return window',
        detail: `The return window of this order ended at ${refusal.endedAt.toISOString()}`,
        errors: [{ in: 'path', field: 'id', message: `the return window ended at ${refusal.endedAt.toISOString()}` }],
        extra: { returnWindowEndsAt: refusal.endedAt.toISOString() },
      });
    case 'invalid_lines':
      return new HttpProblem(problems.validation(refusal.issues.map((issue) => ({ in: 'body', field: issue.field, message: issue.message }))));
    case 'other_order':
      return new HttpProblem(problems.validation([{ in: 'header', field: idempotencyKeyHeader, message: 'already used for a return of another order' }]));
  }
}

/** The return if the caller owns it or holds orders:read; 404 otherwise, so ids cannot be probed. */
async function visibleReturn(c: Context<AppEnv>, id: string): Promise<ReturnRow> {
  const row = await returnById(c.get('deps').db, id);
  requireOwnerOrStaff(c, row?.accountId, 'orders:read', 'return');
  return row!;
}

async function staffReturn(c: Context<AppEnv>, id: string): Promise<ReturnRow> {
  const row = await returnById(c.get('deps').db, id);
  if (!row) throw new HttpProblem(problems.notFound('No such return'));
  return row;
}

async function signalReturn(c: Context<AppEnv>, row: ReturnRow, send: (handle: WorkflowHandle) => Promise<void>) {
  try {
    await send(c.get('deps').temporal.client.workflow.getHandle(row.workflowId));
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new HttpProblem({ status: 409, slug: 'return-ended', title: 'The return has ended', detail: `This return is ${row.status}` });
    throw error;
  }
}

export function returnRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createReturnRoute, async (c) => {
    const me = accountOf(c);
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { db, config, temporal, logger } = c.get('deps');
    const order = await orderById(db, id);
    // Only the owner returns an order; to anyone else it does not exist.
    if (!order || order.accountId !== me.accountId) throw new HttpProblem(problems.notFound('No such order'));

    const returnId = uuidFrom(idFromIdempotencyKey(c, 'return'));
    const workflowId = returnWorkflowId(config.TASK_QUEUE_PREFIX, returnId);
    let result;
    try {
      result = await requestReturn(db, { returnId, order, lines: body.lines, reason: body.reason, workflowId, now: new Date() });
    } catch (error) {
      if (error instanceof ReturnRefused) throw refusalOf(error);
      throw error;
    }
    const { row } = result;
    // A return still `requested` may be the one a failed first attempt left without its workflow.
    if (row.status === 'requested') {
      const lines = await returnLinesOf(db, row.id);
      const input: ReturnWorkflowInput = { returnId: row.id, orderId: row.orderId, accountId: row.accountId, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) };
      try {
        await temporal.client.workflow.start(returnWorkflowType, {
          workflowId,
          taskQueue: config.taskQueues.fulfilment,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // Ops find an order's returns next to its checkout and payment: `OrderId = "<id>"`.
          typedSearchAttributes: [
            { key: searchAttributeKeys.orderId, value: row.orderId },
            { key: searchAttributeKeys.customerId, value: row.accountId },
          ],
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
          // No workflow, no return: its units count as returnable again, and a retry under the same key starts afresh.
          if (result.created) await deleteRequestedReturn(db, row.id).catch((e: Error) => logger.warn({ returnId: row.id, err: { message: e.message } }, 'return without workflow not undone'));
          throw error;
        }
      }
    }
    return c.json(view(row, await returnLinesOf(db, row.id)), 202, { Location: `/v1/returns/${row.id}` });
  });

  app.openapi(orderReturnsRoute, async (c) => {
    const { db } = c.get('deps');
    const order = await orderById(db, c.req.valid('param').id);
    requireOwnerOrStaff(c, order?.accountId, 'orders:read', 'order');
    const rows = await returnsOfOrder(db, order!.id);
    const lines = await returnLinesOfMany(db, rows.map((row) => row.id));
    return c.json({ returns: rows.map((row) => view(row, lines.filter((line) => line.returnId === row.id))) }, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(getReturnRoute, async (c) => {
    const row = await visibleReturn(c, c.req.valid('param').id);
    return c.json(view(row, await returnLinesOf(c.get('deps').db, row.id)), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(receiptRoute, async (c) => {
    const row = await staffReturn(c, c.req.valid('param').id);
    const note = (c.req.header('content-length') ?? '0') !== '0' ? (c.req.valid('json') as { note?: string }).note : undefined;
    if (row.status !== 'requested' && row.status !== 'authorised') {
      throw new HttpProblem({ status: 409, slug: 'return-not-awaiting-parcel', title: 'The return is not waiting for its parcel', detail: `This return is ${row.status}` });
    }
    await signalReturn(c, row, (handle) => handle.signal(returnReceivedSignal, note ? { note } : {}));
    await recordAudit(c, { action: 'returns.receipt', targetType: 'return', targetId: row.id, details: { orderId: row.orderId } });
    return c.body(null, 202);
  });

  app.openapi(inspectionRoute, async (c) => {
    const row = await staffReturn(c, c.req.valid('param').id);
    const decision = c.req.valid('json');
    if (row.status !== 'received') {
      const early = row.status === 'requested' || row.status === 'authorised';
      throw new HttpProblem({
        status: 409,
        slug: early ? 'return-not-received' : 'return-already-inspected',
        title: early ? 'The parcel has not been received yet' : 'The return was decided already',
        detail: `This return is ${row.status}`,
      });
    }
    const issues = checkInspection(await returnLinesOf(c.get('deps').db, row.id), decision.lines);
    if (issues.length > 0) throw new HttpProblem(problems.validation(issues.map((issue) => ({ in: 'body', field: issue.field, message: issue.message }))));
    await signalReturn(c, row, (handle) => handle.signal(inspectionDecisionSignal, decision));
    await recordAudit(c, { action: 'returns.inspection', targetType: 'return', targetId: row.id, details: { orderId: row.orderId, lines: decision.lines } });
    return c.body(null, 202);
  });

  app.openapi(goodwillRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { amount, reason } = c.req.valid('json');
    const { db, config, temporal } = c.get('deps');
    const order = await orderById(db, id);
    if (!order) throw new HttpProblem(problems.notFound('No such order'));
    if (amount.currency !== order.currency) {
      throw new HttpProblem(problems.validation([{ in: 'body', field: 'amount.currency', message: `the order was paid in ${order.currency}` }]));
    }
    const refundId = `goodwill-${idFromIdempotencyKey(c, 'goodwill-refund').slice(0, 32)}`;
    // Every request that reached the payment, granted or refused, is in the audit log.
    const audit = (outcome: string, extra: Record<string, unknown> = {}, executor: Executor = db) =>
      recordAudit(c, { action: 'refunds.goodwill', targetType: 'order', targetId: order.id, details: { refundId, amount: amount.amount, currency: amount.currency, reason, outcome, ...extra } }, executor);

    let settled: { result: RefundPaymentResult } | { error: unknown } | undefined;
    try {
      const update = await temporal.client.workflow
        .getHandle(paymentWorkflowId(config.TASK_QUEUE_PREFIX, order.id))
        .startUpdate(refundPaymentUpdate, { args: [{ refundId, amount: amount.amount, reason: `goodwill: ${reason}` }], updateId: refundId, waitForStage: WorkflowUpdateStage.ACCEPTED });
      // A refusal by the payment workflow's validator is already settled here; a refund at the provider usually settles in well under the wait.
      settled = await Promise.race([
        update.result().then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        ),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), goodwillWaitMs).unref()),
      ]);
    } catch (error) {
      settled = { error };
    }

    if (settled && 'error' in settled) {
      const { error } = settled;
      if (error instanceof WorkflowNotFoundError) {
        // The payment workflow ends once everything is refunded (or its refund window is over).
        const left = (await ledgerBalance(db, order.id))?.paid ?? 0;
        if (left < amount.amount) {
          const why = `amount exceeds what is still refundable (${left})`;
          await audit('refused', { why });
          throw new HttpProblem({ status: 409, slug: 'refund-exceeds-captured', title: 'More than is left to refund', detail: why, errors: [{ in: 'body', field: 'amount.amount', message: why }] });
        }
        await audit('refused', { why: 'no payment open for refunds' });
        throw new HttpProblem({ status: 409, slug: 'refund-refused', title: 'Nothing to refund', detail: 'This order has no payment that can still be refunded (never captured, or its refund window is over)' });
      }
      if (error instanceof WorkflowUpdateFailedError) {
        const why = error.cause?.message ?? error.message;
        await audit('refused', { why });
        // Fully refunded already is the same answer: more than captured minus refunded (nothing).
        const exceeds = /exceeds|payment is refunded/.test(why);
        throw new HttpProblem({
          status: 409,
          slug: exceeds ? 'refund-exceeds-captured' : 'refund-refused',
          title: exceeds ? 'More than is left to refund' : 'Refund refused',
          detail: why,
          ...(exceeds ? { errors: [{ in: 'body' as const, field: 'amount.amount', message: why }] } : {}),
        });
      }
      throw error;
    }

    const view = { refundId, orderId: order.id, amount, status: settled ? settled.result.status : ('pending' as const) };
    if (settled?.result.status === 'failed') {
      await audit('failed', { failure: settled.result.failure });
      throw new HttpProblem({ status: 409, slug: 'refund-failed', title: 'The provider refused the refund', detail: `The payment provider refused the refund (${settled.result.failure ?? 'unknown'})`, extra: { refundId } });
    }
    await db.transaction(async (tx) => {
      await audit(view.status, {}, tx);
      if (view.status === 'succeeded') {
        await enqueueOrderEvent(tx, config, { orderId: order.id, accountId: order.accountId, event: 'refund_issued', data: { refundId, amount: amount.amount, currency: amount.currency }, dedupeKey: `refund_issued:${refundId}` });
      }
    });
    return c.json(view, view.status === 'succeeded' ? 201 : 202, { Location: `/v1/orders/${order.id}/refunds` });
  });

  app.openapi(refundsRoute, async (c) => {
    const { db, config, temporal } = c.get('deps');
    const order = await orderById(db, c.req.valid('param').id);
    requireOwnerOrStaff(c, order?.accountId, 'orders:read', 'order');
    let state;
    try {
      state = await temporal.client.workflow.getHandle(paymentWorkflowId(config.TASK_QUEUE_PREFIX, order!.id)).query(paymentStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return c.json({ refunds: [] }, 200);
      throw error;
    }
    const refunds = state.refunds.map((refund) => ({
      refundId: refund.refundId,
      amount: { amount: refund.amount, currency: state.currency },
      status: refund.status,
    }));
    return c.json({ refunds }, 200, { 'Cache-Control': 'no-store' });
  });
}

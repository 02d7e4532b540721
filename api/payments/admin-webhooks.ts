/**
 * The webhook inbox as ops read it: above all `?status=orphaned`, the provider events no payment
 * workflow could take (an unknown order, a payment already closed with another outcome). Nothing there
 * is personal: event ids, order and provider payment ids, amounts.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { listWebhooks } from '../../db/payments';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';

const WebhookQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'orphaned']).optional().openapi({ description: 'Only events in this state' }),
    provider: z.string().min(1).max(50).optional().openapi({ description: 'e.g. `sandbox`' }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(500).optional().openapi({ description: 'nextCursor of the previous page' }),
  })
  .strict();

const InboxEvent = z
  .object({
    id: z.number().int(),
    provider: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'orphaned']),
    receivedAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable().openapi({ description: 'Why the last delivery did not reach a workflow (or why it needed none)' }),
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'The event as the provider sent it' }),
  })
  .openapi('WebhookInboxEvent');

const InboxPage = z
  .object({ items: z.array(InboxEvent), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for older events; null on the last page' }) })
  .openapi('WebhookInboxPage');

const webhookInboxRoute = createRoute({
  method: 'get',
  path: '/v1/admin/webhooks',
  tags: ['admin', 'payments'],
  summary: 'Partner webhook events received, newest first (orphaned ones to review)',
  ...access('audit:read'),
  request: { query: WebhookQuery },
  responses: { 200: { description: 'A page of events', content: { 'application/json': { schema: InboxPage } } }, ...AdminProblemResponses },
});

const encodeCursor = (id: number) => Buffer.from(String(id)).toString('base64url');

function decodeCursor(cursor: string): number {
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (Number.isSafeInteger(id) && id > 0) return id;
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor this API returned' }], 400));
}

export function adminWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(webhookInboxRoute, async (c) => {
    const { limit, cursor, status, provider } = c.req.valid('query');
    const rows = await listWebhooks(c.get('deps').db, { status, provider, limit: limit + 1, beforeId: cursor === undefined ? undefined : decodeCursor(cursor) });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((row) => ({
          id: row.id,
          provider: row.provider,
          eventId: row.eventId,
          eventType: row.eventType,
          status: row.status,
          receivedAt: row.receivedAt.toISOString(),
          deliveredAt: row.deliveredAt?.toISOString() ?? null,
          attempts: row.attempts,
          lastError: row.lastError,
          payload: row.payload,
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      },
      200,
      { 'Cache-Control': 'no-store' },
    );
  });
}

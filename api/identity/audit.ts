/**
 * Reading the audit log. Rows are returned as stored: the log holds ids, actions and facts, never
 * personal data in clear, and nothing is decrypted to answer.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { readAuditLog, type AuditPosition } from '../../db/identity/audit-read';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';

const filterText = (max: number, description: string) => z.string().min(1).max(max).optional().openapi({ description });
const instant = (description: string) => z.iso.datetime({ offset: true }).optional().openapi({ description, example: '2025-01-31T00:00:00Z' });

const AuditQuery = z
  .object({
    actorId: filterText(200, 'Account id or partner client id that acted'),
    action: filterText(100, 'e.g. `identity.role_changed`'),
    targetType: filterText(100, 'e.g. `account`, `partner_client`, `route`'),
    targetId: filterText(200, 'Id of the target'),
    from: instant('Events at or after this instant (ISO 8601)'),
    to: instant('Events before this instant (ISO 8601)'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(500).optional().openapi({ description: 'nextCursor of the previous page' }),
  })
  .strict()
  .refine((query) => !query.from || !query.to || Date.parse(query.from) <= Date.parse(query.to), { path: ['to'], message: 'must not be before from' });

const AuditEvent = z
  .object({
    id: z.number().int(),
    occurredAt: z.iso.datetime().openapi({ description: 'UTC, to the microsecond' }),
    actorType: z.enum(['account', 'partner', 'system', 'anonymous']),
    actorId: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    ip: z.string().nullable(),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEvent');

const AuditPage = z
  .object({ items: z.array(AuditEvent), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for older events; null on the last page' }) })
  .openapi('AuditLogPage');

const auditLogRoute = createRoute({
  method: 'get',
  path: '/v1/admin/audit-log',
  tags: ['admin', 'identity'],
  summary: 'Staff actions and security events, newest first, with filters',
  ...access('audit:read'),
  request: { query: AuditQuery },
  responses: { 200: { description: 'A page of events', content: { 'application/json': { schema: AuditPage } } }, ...AdminProblemResponses },
});

const encodeCursor = (position: AuditPosition) => Buffer.from(JSON.stringify([position.occurredAt, position.id])).toString('base64url');

function decodeCursor(cursor: string): AuditPosition {
  try {
    const [occurredAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof occurredAt === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(occurredAt) && Number.isSafeInteger(id) && (id as number) > 0) {
      return { occurredAt, id: id as number };
    }
  } catch {
    // Refused below like any other cursor this API did not write.
  }
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor this API returned' }], 400));
}

export function auditRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(auditLogRoute, async (c) => {
    const { limit, cursor, ...filters } = c.req.valid('query');
    const rows = await readAuditLog(c.get('deps').db, filters, { limit: limit + 1, after: cursor === undefined ? undefined : decodeCursor(cursor) });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        // The table's CHECK constraint holds actorType to these four.
        items: page.map((event) => ({ ...event, actorType: event.actorType as 'account' | 'partner' | 'system' | 'anonymous' })),
        nextCursor: rows.length > limit && last ? encodeCursor({ occurredAt: last.occurredAt, id: last.id }) : null,
      },
      200,
      { 'Cache-Control': 'no-store' },
    );
  });
}

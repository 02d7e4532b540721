import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const ops = pgSchema('ops');

/**
 * `Idempotency-Key` on POSTs that create something: the first response (status, headers, body) is kept
 * 24 h and replayed for the same key and body; the same key with another body is refused. `scope` keeps
 * one caller's keys apart from another's (the principal, or the client address when anonymous).
 */
export const idempotencyKeys = ops.table(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** Method, route and a SHA-256 of the body: another request under the same key is refused, not replayed. */
    requestHash: text('request_hash').notNull(),
    status: text('status').$type<'in_progress' | 'completed'>().notNull().default('in_progress'),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    responseBody: text('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    check('idempotency_status', sql`${t.status} IN ('in_progress', 'completed')`),
    index('idempotency_expires_idx').on(t.expiresAt),
  ],
);

/**
 * Partner webhooks, stored before they are acknowledged: unique per (provider, event id), so a
 * redelivered event is recognised and nothing happens twice. An event whose workflow cannot be found is
 * kept as `orphaned` and reported, never dropped.
 */
export const webhookInbox = ops.table(
  'webhook_inbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    status: text('status').$type<'pending' | 'delivered' | 'orphaned'>().notNull().default('pending'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    uniqueIndex('webhook_inbox_event_idx').on(t.provider, t.eventId),
    check('webhook_inbox_status', sql`${t.status} IN ('pending', 'delivered', 'orphaned')`),
    index('webhook_inbox_pending_idx').on(t.id).where(sql`${t.status} = 'pending'`),
  ],
);

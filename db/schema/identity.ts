import { sql } from 'drizzle-orm';
import { bigserial, check, index, jsonb, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const identity = pgSchema('identity');

/**
 * Every staff action and security event, appended and never changed: a trigger (migration 0007)
 * refuses UPDATE, DELETE and TRUNCATE, so not even a bug in our own code can rewrite history.
 */
export const auditLog = identity.table(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** Who acted: an account, a partner client, the platform itself, or nobody known yet (a failed login). */
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    /** What happened, as `domain.event`, e.g. `identity.login_failed`, `identity.role_changed`. */
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    requestId: text('request_id'),
    /** Facts about the event; never a secret, a token or personal data in clear. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    check('audit_log_actor_type', sql`${t.actorType} IN ('account', 'partner', 'system', 'anonymous')`),
    index('audit_log_occurred_at_idx').on(t.occurredAt),
    index('audit_log_actor_idx').on(t.actorId, t.occurredAt),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.occurredAt),
    index('audit_log_action_idx').on(t.action, t.occurredAt),
  ],
);

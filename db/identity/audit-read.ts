import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { auditLog } from '../schema/identity';

export interface AuditFilters {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  /** Inclusive; ISO 8601, compared by Postgres at full (microsecond) precision. */
  from?: string;
  /** Exclusive; ISO 8601. */
  to?: string;
}

/**
 * Where the previous page ended. `occurredAt` is Postgres's own text at microsecond precision: a JS
 * Date keeps milliseconds only, and two events within one millisecond would be skipped or repeated.
 * Rows carry the same text, so what a reader sees is exactly what the cursor and filters compare.
 */
export interface AuditPosition {
  occurredAt: string;
  id: number;
}

// UTC, microseconds: the exact key of the ordering, round-tripped through the cursor.
const exactOccurredAt = sql<string>`to_char(${auditLog.occurredAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Newest first (occurred_at, then id), `limit` rows after `after`. The filters use the table's (column, occurred_at) indexes. */
export async function readAuditLog(db: Executor, filters: AuditFilters, page: { limit: number; after?: AuditPosition }) {
  const conditions: (SQL | undefined)[] = [
    filters.actorId === undefined ? undefined : eq(auditLog.actorId, filters.actorId),
    filters.action === undefined ? undefined : eq(auditLog.action, filters.action),
    filters.targetType === undefined ? undefined : eq(auditLog.targetType, filters.targetType),
    filters.targetId === undefined ? undefined : eq(auditLog.targetId, filters.targetId),
    filters.from === undefined ? undefined : gte(auditLog.occurredAt, sql`${filters.from}::timestamptz`),
    filters.to === undefined ? undefined : lt(auditLog.occurredAt, sql`${filters.to}::timestamptz`),
  ];
  if (page.after) {
    const at = sql`${page.after.occurredAt}::timestamptz`;
    conditions.push(or(lt(auditLog.occurredAt, at), and(eq(auditLog.occurredAt, at), lt(auditLog.id, page.after.id))));
  }
  return db
    .select({
      id: auditLog.id,
      occurredAt: exactOccurredAt,
      actorType: auditLog.actorType,
      actorId: auditLog.actorId,
      action: auditLog.action,
      targetType: auditLog.targetType,
      targetId: auditLog.targetId,
      ip: auditLog.ip,
      requestId: auditLog.requestId,
      details: auditLog.details,
    })
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.occurredAt), desc(auditLog.id))
    .limit(page.limit);
}

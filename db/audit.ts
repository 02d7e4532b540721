import { auditLog } from './schema/identity';
import type { Executor } from '../platform/postgres';

export type AuditEntry = typeof auditLog.$inferInsert;

/** Appends one event; callers pass their transaction so the event commits with the change it records. */
export async function appendAudit(db: Executor, entry: AuditEntry): Promise<number> {
  const [row] = await db.insert(auditLog).values(entry).returning({ id: auditLog.id });
  return row!.id;
}

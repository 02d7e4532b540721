import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { importRows, imports, type ImportRowError } from './schema/catalog';

export type ImportRecord = typeof imports.$inferSelect;

export async function insertImport(
  db: Executor,
  record: { id: string; idempotencyKey: string | null; bodySha256: string; workflowId: string; rows: unknown[] },
): Promise<void> {
  await db.insert(imports).values({
    id: record.id,
    idempotencyKey: record.idempotencyKey,
    bodySha256: record.bodySha256,
    totalRows: record.rows.length,
    workflowId: record.workflowId,
  });
  // Chunked so a large import never builds one statement with more parameters than Postgres accepts.
  for (let start = 0; start < record.rows.length; start += 1_000) {
    const chunk = record.rows.slice(start, start + 1_000);
    await db.insert(importRows).values(chunk.map((payload, i) => ({ importId: record.id, rowNumber: start + i + 1, payload })));
  }
}

export async function findImport(db: Executor, id: string): Promise<ImportRecord | undefined> {
  const [row] = await db.select().from(imports).where(eq(imports.id, id));
  return row;
}

export async function findImportByIdempotencyKey(db: Executor, key: string): Promise<ImportRecord | undefined> {
  const [row] = await db.select().from(imports).where(eq(imports.idempotencyKey, key));
  return row;
}

export async function markImportRunning(db: Executor, id: string): Promise<ImportRecord | undefined> {
  const [row] = await db
    .update(imports)
    .set({ status: sql`CASE WHEN ${imports.status} = 'received' THEN 'running'::catalog.import_status ELSE ${imports.status} END`, startedAt: sql`coalesce(${imports.startedAt}, now())`, updatedAt: sql`now()` })
    .where(eq(imports.id, id))
    .returning();
  return row;
}

/** Rows in `[fromRow, toRow)` counted from zero; stored row numbers count from one, as a person reads a file. */
export async function loadImportRows(db: Executor, id: string, fromRow: number, toRow: number) {
  return db
    .select()
    .from(importRows)
    .where(and(eq(importRows.importId, id), gte(importRows.rowNumber, fromRow + 1), lt(importRows.rowNumber, toRow + 1)))
    .orderBy(asc(importRows.rowNumber));
}

export async function recordRowOutcome(
  db: Executor,
  id: string,
  rowNumber: number,
  outcome: { status: 'imported' } | { status: 'failed'; errors: ImportRowError[] },
): Promise<void> {
  await db
    .update(importRows)
    .set({ status: outcome.status, errors: outcome.status === 'failed' ? outcome.errors : null })
    .where(and(eq(importRows.importId, id), eq(importRows.rowNumber, rowNumber)));
}

export async function countRowOutcomes(db: Executor, id: string): Promise<{ imported: number; failed: number }> {
  const [row] = await db
    .select({
      imported: sql<number>`count(*) FILTER (WHERE ${importRows.status} = 'imported')::int`,
      failed: sql<number>`count(*) FILTER (WHERE ${importRows.status} = 'failed')::int`,
    })
    .from(importRows)
    .where(eq(importRows.importId, id));
  return row ?? { imported: 0, failed: 0 };
}

export async function markImportCompleted(db: Executor, id: string, counts: { imported: number; failed: number }) {
  const [row] = await db
    .update(imports)
    .set({
      status: 'completed',
      importedRows: counts.imported,
      failedRows: counts.failed,
      completedAt: sql`coalesce(${imports.completedAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(eq(imports.id, id))
    .returning();
  return row;
}

export async function listRowErrors(db: Executor, id: string, options: { limit: number; afterRow: number }) {
  return db
    .select({ row: importRows.rowNumber, errors: importRows.errors })
    .from(importRows)
    .where(and(eq(importRows.importId, id), eq(importRows.status, 'failed'), gte(importRows.rowNumber, options.afterRow + 1)))
    .orderBy(asc(importRows.rowNumber))
    .limit(options.limit);
}

/**
 * Invoices, credit notes and their numbering (invoicing schema). Rows are written once and never
 * changed (the database refuses it); numbers come from `document_counters` inside the transaction
 * that inserts the document.
 */
import { and, asc, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { creditNoteLines, creditNotes, documentCounters, invoiceLines, invoices, type DocumentKind } from './schema/invoicing';

export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
export type CreditNoteRow = typeof creditNotes.$inferSelect;
export type CreditNoteLineRow = typeof creditNoteLines.$inferSelect;

export interface DrawnNumber {
  year: number;
  sequence: number;
  number: string;
  issuedAt: Date;
}

/** The year turned while this transaction waited for the counter: its number would be dated in the wrong year. Retry it. */
export class YearTurnedWhileWaiting extends Error {
  override name = 'YearTurnedWhileWaiting';
}

export const documentNumber = (series: string, year: number, sequence: number) => `${series}-${year}-${String(sequence).padStart(6, '0')}`;

/**
 * The next number of `series` in the current UTC year. The row lock taken here is held until the
 * transaction ends, so concurrent issuers queue and commit in number order; a rollback gives the number
 * back. The issue time is read once the lock is held, so numbers and dates rise together.
 */
export async function drawNumber(tx: Executor, series: string, kind: DocumentKind): Promise<DrawnNumber> {
  const rows = await tx.execute<{ year: number; last_number: number; issued_at: string }>(sql`
    INSERT INTO ${documentCounters} (series, year, kind, last_number)
    VALUES (${series}, extract(year FROM clock_timestamp() AT TIME ZONE 'UTC')::int, ${kind}, 1)
    ON CONFLICT (series, year) DO UPDATE SET last_number = document_counters.last_number + 1
    RETURNING year, last_number, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS issued_at`);
  const row = rows[0]!;
  const issuedAt = new Date(row.issued_at);
  if (issuedAt.getUTCFullYear() !== row.year) throw new YearTurnedWhileWaiting(`the year turned while waiting for ${series}`);
  return { year: row.year, sequence: row.last_number, number: documentNumber(series, row.year, row.last_number), issuedAt };
}

/** Inserts the invoice and its lines; false when the order has one already (the caller rolls back to return its number). */
export async function insertInvoice(tx: Executor, invoice: typeof invoices.$inferInsert, lines: Omit<typeof invoiceLines.$inferInsert, 'invoiceId'>[]): Promise<boolean> {
  const inserted = await tx.insert(invoices).values(invoice).onConflictDoNothing({ target: invoices.orderId }).returning({ id: invoices.id });
  if (inserted.length === 0) return false;
  await tx.insert(invoiceLines).values(lines.map((line) => ({ ...line, invoiceId: invoice.id })));
  return true;
}

export async function insertCreditNote(tx: Executor, note: typeof creditNotes.$inferInsert, lines: Omit<typeof creditNoteLines.$inferInsert, 'creditNoteId'>[]): Promise<boolean> {
  const inserted = await tx.insert(creditNotes).values(note).onConflictDoNothing({ target: [creditNotes.orderId, creditNotes.refundId] }).returning({ id: creditNotes.id });
  if (inserted.length === 0) return false;
  await tx.insert(creditNoteLines).values(lines.map((line) => ({ ...line, creditNoteId: note.id })));
  return true;
}

export async function invoiceOfOrder(db: Executor, orderId: string): Promise<InvoiceRow | undefined> {
  const [row] = await db.select().from(invoices).where(eq(invoices.orderId, orderId));
  return row;
}

/** The order's invoice, locked until the transaction ends: credit notes of one invoice are drafted one at a time. */
export async function lockInvoiceOfOrder(tx: Executor, orderId: string): Promise<InvoiceRow | undefined> {
  const [row] = await tx.select().from(invoices).where(eq(invoices.orderId, orderId)).for('update');
  return row;
}

export async function invoiceLinesOf(db: Executor, invoiceId: string): Promise<InvoiceLineRow[]> {
  return db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, invoiceId)).orderBy(asc(invoiceLines.position));
}

export async function creditNoteOfRefund(db: Executor, orderId: string, refundId: string): Promise<CreditNoteRow | undefined> {
  const [row] = await db.select().from(creditNotes).where(and(eq(creditNotes.orderId, orderId), eq(creditNotes.refundId, refundId)));
  return row;
}

export async function creditNotesOfInvoice(db: Executor, invoiceId: string): Promise<(CreditNoteRow & { lines: CreditNoteLineRow[] })[]> {
  const notes = await db.select().from(creditNotes).where(eq(creditNotes.invoiceId, invoiceId)).orderBy(asc(creditNotes.sequence), asc(creditNotes.issuedAt));
  if (notes.length === 0) return [];
  const lines = await db
    .select()
    .from(creditNoteLines)
    .where(inArray(creditNoteLines.creditNoteId, notes.map((note) => note.id)))
    .orderBy(asc(creditNoteLines.position));
  return notes.map((note) => ({ ...note, lines: lines.filter((line) => line.creditNoteId === note.id) }));
}

export async function invoicesOfAccount(db: Executor, accountId: string): Promise<InvoiceRow[]> {
  return db.select().from(invoices).where(eq(invoices.accountId, accountId)).orderBy(asc(invoices.issuedAt));
}

/** Drops the buyer block of the person's invoices whose retention period is over; the rest is kept by law. */
export async function eraseBuyersPastRetention(db: Executor, accountId: string): Promise<number> {
  const rows = await db
    .update(invoices)
    .set({ buyerEnc: null })
    .where(and(eq(invoices.accountId, accountId), isNotNull(invoices.buyerEnc), lt(invoices.retainUntil, sql`now()`)))
    .returning({ id: invoices.id });
  return rows.length;
}

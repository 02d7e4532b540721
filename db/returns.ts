/**
 * Returns and their lines (schema `fulfilment`). Every write moves a return forward only from the
 * status it expects (a conditional UPDATE), so a retried activity, a duplicated signal or a replayed
 * request changes nothing the second time; each function accepts a transaction so the caller can add
 * the customer's notification event to the same commit.
 */
import { and, asc, desc, eq, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../platform/postgres';
import { voidReturnStatuses, type ReturnStatus } from '../returns/statuses';
import { byteOrder } from './inventory-reservations';
import { receiveStock } from './inventory';
import { returnLines, returnRecords } from './schema/returns';

export type ReturnRow = typeof returnRecords.$inferSelect;
export type ReturnLineRow = typeof returnLines.$inferSelect;

/**
 * Serialises the returns of one order for the rest of the transaction: two requests for the same units
 * are judged one after the other, so together they never claim more than was bought.
 */
export async function lockReturnsOfOrder(tx: Executor, orderId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`returns:${orderId}`}, 0))`);
}

/** Units of each SKU already sent back or on their way, over the order's returns that still count (not expired, not cancelled). */
export async function claimedQuantities(db: Executor, orderId: string): Promise<{ sku: string; quantity: number }[]> {
  const rows = await db
    .select({ sku: returnLines.sku, quantity: sql<number>`sum(${returnLines.quantity})::int` })
    .from(returnLines)
    .innerJoin(returnRecords, eq(returnRecords.id, returnLines.returnId))
    .where(and(eq(returnRecords.orderId, orderId), notInArray(returnRecords.status, [...voidReturnStatuses])))
    .groupBy(returnLines.sku);
  return rows.map((row) => ({ sku: row.sku, quantity: Number(row.quantity) }));
}

export async function insertReturn(
  tx: Executor,
  row: typeof returnRecords.$inferInsert,
  lines: Omit<typeof returnLines.$inferInsert, 'returnId'>[],
): Promise<ReturnRow> {
  const [inserted] = await tx.insert(returnRecords).values(row).returning();
  await tx.insert(returnLines).values(lines.map((line) => ({ ...line, returnId: row.id })));
  return inserted!;
}

/** A return that never got its workflow (Temporal unreachable): undone, so its units count as returnable again. */
export async function deleteRequestedReturn(db: Executor, id: string): Promise<void> {
  await db.delete(returnRecords).where(and(eq(returnRecords.id, id), eq(returnRecords.status, 'requested')));
}

export async function returnById(db: Executor, id: string): Promise<ReturnRow | undefined> {
  const [row] = await db.select().from(returnRecords).where(eq(returnRecords.id, id));
  return row;
}

export async function returnLinesOf(db: Executor, returnId: string): Promise<ReturnLineRow[]> {
  return db.select().from(returnLines).where(eq(returnLines.returnId, returnId)).orderBy(asc(returnLines.sku));
}

export async function returnLinesOfMany(db: Executor, returnIds: string[]): Promise<ReturnLineRow[]> {
  if (returnIds.length === 0) return [];
  return db.select().from(returnLines).where(inArray(returnLines.returnId, returnIds)).orderBy(asc(returnLines.sku));
}

/** An order's returns, newest first. */
export async function returnsOfOrder(db: Executor, orderId: string): Promise<ReturnRow[]> {
  return db.select().from(returnRecords).where(eq(returnRecords.orderId, orderId)).orderBy(desc(returnRecords.createdAt), desc(returnRecords.id));
}

/** Moves the return from one of `from` to `to` with `set`; false when it was not in one of them (a retry, or too late). */
async function advance(tx: Executor, id: string, from: ReturnStatus[], to: ReturnStatus, set: PgUpdateSetSource<typeof returnRecords> = {}): Promise<boolean> {
  const rows = await tx
    .update(returnRecords)
    .set({ ...set, status: to, updatedAt: sql`now()` })
    .where(and(eq(returnRecords.id, id), inArray(returnRecords.status, from)))
    .returning({ id: returnRecords.id });
  return rows.length > 0;
}

export function recordReturnLabel(tx: Executor, id: string, booking: { carrierShipmentId: string; trackingNumber: string; labelUrl: string }): Promise<boolean> {
  return advance(tx, id, ['requested'], 'authorised', { ...booking, authorisedAt: sql`now()` });
}

export function recordReturnReceived(tx: Executor, id: string, via: 'carrier' | 'ops'): Promise<boolean> {
  return advance(tx, id, ['authorised'], 'received', { receivedVia: via, receivedAt: sql`now()` });
}

/** Nothing will come back: the label was refused, or no parcel arrived in time. Only before the parcel is received. */
export function closeReturn(tx: Executor, id: string, status: 'expired' | 'cancelled', reason: string): Promise<boolean> {
  return advance(tx, id, ['requested', 'authorised'], status, { statusReason: reason });
}

/**
 * Records the inspection: each line's accepted and rejected units, and the refund it leads to. The
 * return becomes `inspected`, or `rejected` when nothing was accepted (nothing to refund).
 */
export async function recordInspection(
  tx: Executor,
  id: string,
  decision: { lines: { sku: string; accepted: number; rejected: number }[]; note: string | null; refundId: string; refundAmount: number },
): Promise<boolean> {
  const to: ReturnStatus = decision.refundAmount > 0 ? 'inspected' : 'rejected';
  const moved = await advance(tx, id, ['received'], to, {
    inspectedAt: sql`now()`,
    inspectionNote: decision.note,
    ...(decision.refundAmount > 0 ? { refundId: decision.refundId, refundAmount: decision.refundAmount } : { refundAmount: 0, statusReason: 'nothing accepted at inspection' }),
  });
  if (!moved) return false;
  for (const line of decision.lines) {
    await tx
      .update(returnLines)
      .set({ acceptedQuantity: line.accepted, rejectedQuantity: line.rejected })
      .where(and(eq(returnLines.returnId, id), eq(returnLines.sku, line.sku)));
  }
  return true;
}

/**
 * Puts the accepted units of the return's lines back on hand at its location, each line once: the line
 * is marked restocked in the same transaction, and a line already marked adds nothing. Returns what this
 * call restocked.
 */
export async function restockAcceptedLines(tx: Executor, returnId: string, location: string): Promise<{ sku: string; quantity: number }[]> {
  const lines = await tx
    .update(returnLines)
    .set({ restockedAt: sql`now()` })
    .where(and(eq(returnLines.returnId, returnId), isNull(returnLines.restockedAt), sql`${returnLines.acceptedQuantity} > 0`))
    .returning({ sku: returnLines.sku, quantity: returnLines.acceptedQuantity });
  const restocked = lines.map((line) => ({ sku: line.sku, quantity: line.quantity ?? 0 })).sort((a, b) => byteOrder(a.sku, b.sku));
  await receiveStock(tx, restocked.map((line) => ({ ...line, location })));
  return restocked;
}

export function recordRefundSucceeded(tx: Executor, id: string): Promise<boolean> {
  return advance(tx, id, ['inspected'], 'refunded', { refundedAt: sql`now()` });
}

export function recordRefundFailed(tx: Executor, id: string, reason: string): Promise<boolean> {
  return advance(tx, id, ['inspected'], 'refund_failed', { statusReason: reason });
}

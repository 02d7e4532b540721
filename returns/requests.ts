/**
 * A customer asks to send (part of) a delivered order back. Judged and recorded in one transaction,
 * under a per-order lock, so two requests for the same units never claim more than was bought.
 */
import { reservationOf } from '../db/inventory-reservations';
import { orderLinesOf, type OrderRow } from '../db/orders';
import { claimedQuantities, insertReturn, lockReturnsOfOrder, returnById, type ReturnRow } from '../db/returns';
import type { Database, Executor } from '../platform/postgres';
import { checkReturnLines, paidFor, returnableQuantities, returnWindowIssue, type RequestedLine, type RuleIssue } from './rules';

export type ReturnRefusal =
  | { kind: 'not_delivered' }
  | { kind: 'window_closed'; endedAt: Date }
  | { kind: 'invalid_lines'; issues: RuleIssue[] }
  | { kind: 'other_order' };

/** The request cannot be accepted as it is; nothing was recorded. */
export class ReturnRefused extends Error {
  override readonly name = 'ReturnRefused';
  constructor(readonly refusal: ReturnRefusal) {
    super(refusal.kind);
  }
}

export interface ReturnRequest {
  /** Chosen by the caller (the API derives it from the Idempotency-Key): the same id again finds the same return. */
  returnId: string;
  order: OrderRow;
  lines: RequestedLine[];
  reason: string;
  workflowId: string;
  now: Date;
}

/**
 * Where the parcel goes back: the stock location that supplied most of the returned units (from the
 * order's reservation), so units go back where they were counted; the order's first location otherwise.
 */
async function returnLocationOf(db: Executor, orderId: string, lines: RequestedLine[]): Promise<string | undefined> {
  const reservation = await reservationOf(db, orderId);
  if (!reservation || reservation.lines.length === 0) return undefined;
  const wanted = new Set(lines.map((line) => line.sku));
  const units = new Map<string, number>();
  for (const held of reservation.lines) {
    if (wanted.has(held.sku)) units.set(held.location, (units.get(held.location) ?? 0) + held.quantity);
  }
  const ranked = [...units.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return ranked[0]?.[0] ?? reservation.lines[0]!.location;
}

/** Records the return, or finds the one this id made before; throws `ReturnRefused` with what is wrong. */
export async function requestReturn(db: Database, request: ReturnRequest): Promise<{ created: boolean; row: ReturnRow }> {
  const { order } = request;
  return db.transaction(async (tx) => {
    await lockReturnsOfOrder(tx, order.id);
    const existing = await returnById(tx, request.returnId);
    if (existing) {
      if (existing.orderId !== order.id) throw new ReturnRefused({ kind: 'other_order' });
      return { created: false, row: existing };
    }
    const window = returnWindowIssue(order, request.now);
    if (window?.kind === 'not_delivered') throw new ReturnRefused({ kind: 'not_delivered' });
    if (window?.kind === 'closed') throw new ReturnRefused({ kind: 'window_closed', endedAt: window.endedAt });

    const bought = await orderLinesOf(tx, order.id);
    const returnable = returnableQuantities(bought, await claimedQuantities(tx, order.id));
    const issues = checkReturnLines(request.lines, returnable);
    if (issues.length > 0) throw new ReturnRefused({ kind: 'invalid_lines', issues });

    const location = (await returnLocationOf(tx, order.id, request.lines)) ?? 'returns';
    const boughtBySku = new Map(bought.map((line) => [line.sku, line]));
    const row = await insertReturn(
      tx,
      { id: request.returnId, orderId: order.id, accountId: order.accountId, reason: request.reason, currency: order.currency, location, workflowId: request.workflowId },
      request.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, paidAmount: paidFor(boughtBySku.get(line.sku)!, line.quantity) })),
    );
    return { created: true, row };
  });
}

import { and, desc, eq, lt, ne, or, sql } from 'drizzle-orm';
import { enqueueOrderEvent } from '../notifications/order-events';
import type { Config } from '../platform/config';
import type { Executor } from '../platform/postgres';
import { carts, orderLines, orderRecords, orderStatusHistory, type OrderStatus } from './schema/orders';

export type OrderRow = typeof orderRecords.$inferSelect;

/** Inserts the order, its lines and its first status once: a retried activity finds the order there and changes nothing. */
export async function insertOrder(
  tx: Executor,
  order: typeof orderRecords.$inferInsert,
  lines: Omit<typeof orderLines.$inferInsert, 'orderId'>[],
): Promise<boolean> {
  // Only a retry of the same order is absorbed; a second order for one cart is a unique violation, loudly.
  const inserted = await tx.insert(orderRecords).values(order).onConflictDoNothing({ target: orderRecords.id }).returning({ id: orderRecords.id });
  if (inserted.length === 0) return false;
  await tx.insert(orderLines).values(lines.map((line) => ({ ...line, orderId: order.id })));
  await tx.insert(orderStatusHistory).values({ orderId: order.id, status: order.status, reason: order.statusReason ?? null });
  return true;
}

/**
 * Moves the order to `status` and appends it to the history, unless it is already there (retries change
 * nothing). A status the customer is told about queues its order event in the same transaction: the
 * message exists if and only if the status does, and once per order (the dedupe key names the status).
 * Shipping statuses are told by fulfilment, per shipment, not here.
 */
export async function setOrderStatus(tx: Executor, config: Pick<Config, 'pii'>, orderId: string, status: OrderStatus, reason: string | null): Promise<boolean> {
  const changed = await tx
    .update(orderRecords)
    .set({ status, statusReason: reason, updatedAt: sql`now()` })
    .where(and(eq(orderRecords.id, orderId), or(ne(orderRecords.status, status), sql`${orderRecords.statusReason} IS DISTINCT FROM ${reason}`)))
    .returning({ id: orderRecords.id, accountId: orderRecords.accountId, totalAmount: orderRecords.totalAmount, currency: orderRecords.currency });
  const order = changed[0];
  if (!order) return false;
  await tx.insert(orderStatusHistory).values({ orderId, status, reason });
  if (status === 'CONFIRMED') {
    // The key the confirmation has always had, so an order confirmed before this hook is not told twice.
    await enqueueOrderEvent(tx, config, { orderId, accountId: order.accountId, event: 'order_confirmed', data: { totalAmount: order.totalAmount, currency: order.currency }, dedupeKey: orderConfirmedKey(orderId) });
  } else if (status === 'CANCELLED' || status === 'FAILED') {
    // The reason is for staff (a provider's wording, a compensation's name): the message says what happens next instead.
    const event = status === 'CANCELLED' ? 'order_cancelled' : 'order_failed';
    await enqueueOrderEvent(tx, config, { orderId, accountId: order.accountId, event, data: {}, dedupeKey: `${event}:${orderId}` });
  }
  return true;
}

export const orderConfirmedKey = (orderId: string) => `order_confirmed:${orderId}`;

export async function orderById(db: Executor, orderId: string): Promise<OrderRow | undefined> {
  const [row] = await db.select().from(orderRecords).where(eq(orderRecords.id, orderId));
  return row;
}

export async function orderLinesOf(db: Executor, orderId: string) {
  return db.select().from(orderLines).where(eq(orderLines.orderId, orderId)).orderBy(orderLines.sku);
}

export async function statusHistoryOf(db: Executor, orderId: string) {
  return db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, orderId)).orderBy(orderStatusHistory.id);
}

/** A customer's orders, newest first, by keyset on (created_at, id). */
export async function ordersOfAccount(db: Executor, accountId: string, limit: number, before?: { createdAt: Date; id: string }) {
  return db
    .select()
    .from(orderRecords)
    .where(
      and(
        eq(orderRecords.accountId, accountId),
        before ? or(lt(orderRecords.createdAt, before.createdAt), and(eq(orderRecords.createdAt, before.createdAt), lt(orderRecords.id, before.id))) : undefined,
      ),
    )
    .orderBy(desc(orderRecords.createdAt), desc(orderRecords.id))
    .limit(limit);
}

export async function markCartCheckedOut(tx: Executor, cartId: string): Promise<void> {
  await tx.update(carts).set({ status: 'checked_out', updatedAt: sql`now()` }).where(eq(carts.id, cartId));
}

/** The order a cart was checked out into, if any. */
export async function orderOfCart(db: Executor, cartId: string): Promise<OrderRow | undefined> {
  const [row] = await db.select().from(orderRecords).where(eq(orderRecords.cartId, cartId)).orderBy(desc(orderRecords.createdAt)).limit(1);
  return row;
}

/**
 * In-app messages as the shop shows them: on the order's event stream (`event: notification`) and in
 * the customer's list (`GET /v1/me/notifications`).
 */
import { and, eq, sql } from 'drizzle-orm';
import { inAppMessagesOfOrder, type InAppMessage } from '../db/notifications';
import { notificationOutbox } from '../db/schema/notifications';
import type { Executor } from '../platform/postgres';

export interface InAppView {
  id: number;
  orderId: string | null;
  event: string;
  subject: string;
  body: string;
  at: string;
}

export const inAppView = (message: InAppMessage): InAppView => ({
  id: message.id,
  orderId: message.orderId,
  event: message.event,
  subject: message.subject,
  body: message.body,
  at: message.createdAt.toISOString(),
});

/** Whether an event of this order still waits to become its messages (its in-app message is not written yet). */
export async function orderEventsPending(db: Executor, orderId: string): Promise<boolean> {
  const [row] = await db
    .select({ one: sql<number>`1` })
    .from(notificationOutbox)
    .where(and(eq(notificationOutbox.orderId, orderId), eq(notificationOutbox.channel, 'event'), eq(notificationOutbox.state, 'pending')))
    .limit(1);
  return row !== undefined;
}

/** How long a stream whose order has ended still waits for the messages that announce it. */
const settleLimitMs = 20_000;

/**
 * The in-app part of an order's event stream, polled with the status history. The stream ends with
 * the order, but the message announcing the end is written just after the status (by the delivery
 * loop): `settled` says when the stream may close without losing it.
 */
export function orderNotificationFeed(db: Executor, orderId: string) {
  let after = 0;
  let endedAt: number | undefined;
  return {
    /** The messages written since the last call, as SSE frames. */
    async next(): Promise<{ event: 'notification'; data: string }[]> {
      const messages = await inAppMessagesOfOrder(db, orderId, after);
      if (messages.length > 0) after = messages[messages.length - 1]!.id;
      return messages.map((message) => ({ event: 'notification' as const, data: JSON.stringify(inAppView(message)) }));
    },
    /** Call once the order has ended: true when no message of it is still on its way (or waiting stopped making sense). */
    async settled(): Promise<boolean> {
      endedAt ??= Date.now();
      return Date.now() - endedAt > settleLimitMs || !(await orderEventsPending(db, orderId));
    },
  };
}

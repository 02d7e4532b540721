/**
 * Facts about an order that the customer is told about. A domain that changes an order (checkout,
 * fulfilment, returns, refunds) calls `enqueueOrderEvent` inside the transaction that makes the
 * change, so the event exists if and only if the change does. The event names nobody yet: who is
 * told, on which channel and in which language is decided when it is delivered (the account's email,
 * language and preferences at that moment), in `notifications/delivery.ts`.
 */
import { z } from 'zod';
import { insertOutboxEvent } from '../db/notifications';
import type { Config } from '../platform/config';
import type { Executor } from '../platform/postgres';

export const orderEvents = [
  'order_confirmed',
  'order_shipped',
  'order_out_for_delivery',
  'order_delivered',
  'shipment_exception',
  'return_authorised',
  'return_received',
  'refund_issued',
  'order_cancelled',
  'order_failed',
] as const;
export type OrderEvent = (typeof orderEvents)[number];

export const isOrderEvent = (value: string): value is OrderEvent => (orderEvents as readonly string[]).includes(value);

/** Preferences are per category, not per event: a customer thinks "order updates", not "out for delivery". */
export const notificationCategories = ['order_updates', 'returns_and_refunds'] as const;
export type NotificationCategory = (typeof notificationCategories)[number];

export const categoryOfEvent: Record<OrderEvent, NotificationCategory> = {
  order_confirmed: 'order_updates',
  order_shipped: 'order_updates',
  order_out_for_delivery: 'order_updates',
  order_delivered: 'order_updates',
  shipment_exception: 'order_updates',
  order_cancelled: 'order_updates',
  order_failed: 'order_updates',
  return_authorised: 'returns_and_refunds',
  return_received: 'returns_and_refunds',
  refund_issued: 'returns_and_refunds',
};

const minorUnits = z.number().int().nonnegative();
const currency = z.string().regex(/^[A-Z]{3}$/);
const isoTime = z.iso.datetime({ offset: true });
const shortText = z.string().min(1).max(200);
/** A link the customer follows: web addresses only. */
const webUrl = z.url({ protocol: /^https?$/ }).max(2000);

/**
 * What each event carries for its message. Only facts the customer may see: no address, no card, no
 * internal error text (a carrier's exception detail or a failure reason is not shown; the template
 * says what happens next instead). Checked when the event is queued, so a caller's mistake fails its
 * own transaction and tests instead of a message days later.
 */
export const orderEventData = {
  order_confirmed: z.object({ totalAmount: minorUnits, currency }),
  order_shipped: z.object({ shipmentId: shortText.optional(), trackingNumber: shortText.optional(), carrier: shortText.optional(), trackingUrl: webUrl.optional() }),
  order_out_for_delivery: z.object({ shipmentId: shortText.optional(), trackingNumber: shortText.optional() }),
  order_delivered: z.object({ shipmentId: shortText.optional(), returnWindowEndsAt: isoTime.optional() }),
  shipment_exception: z.object({ shipmentId: shortText.optional(), trackingNumber: shortText.optional() }),
  return_authorised: z.object({ returnId: shortText, labelUrl: webUrl.optional(), returnBy: isoTime.optional() }),
  return_received: z.object({ returnId: shortText }),
  refund_issued: z.object({ refundId: shortText, amount: minorUnits, currency, returnId: shortText.optional() }),
  order_cancelled: z.object({}),
  order_failed: z.object({}),
} satisfies Record<OrderEvent, z.ZodType>;

export type OrderEventData<E extends OrderEvent = OrderEvent> = z.input<(typeof orderEventData)[E]>;

export interface NewOrderEvent<E extends OrderEvent = OrderEvent> {
  orderId: string;
  /** The customer the order belongs to. */
  accountId: string;
  event: E;
  data: OrderEventData<E>;
  /**
   * One event per cause: the same key is queued once, so a retried activity or a duplicated webhook
   * adds nothing. Name the cause, e.g. `order_shipped:<shipmentId>`, `refund_issued:<refundId>`.
   */
  dedupeKey: string;
}

/**
 * Queues an order event in the caller's transaction. Returns true when this call queued it, false
 * when an event with the same dedupe key already exists. Throws on data its event does not accept.
 */
export async function enqueueOrderEvent<E extends OrderEvent>(tx: Executor, config: Pick<Config, 'pii'>, event: NewOrderEvent<E>): Promise<boolean> {
  if (!isOrderEvent(event.event)) throw new Error(`unknown order event ${String(event.event)}`);
  const data = (orderEventData[event.event] as z.ZodType).parse(event.data) as Record<string, unknown>;
  const id = await insertOutboxEvent(tx, config, {
    accountId: event.accountId,
    orderId: event.orderId,
    template: event.event,
    recipient: null,
    payload: { ...data, orderId: event.orderId },
    dedupeKey: event.dedupeKey,
  });
  return id !== undefined;
}

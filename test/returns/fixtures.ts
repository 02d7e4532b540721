/**
 * Orders as the returns tests need them, made directly in the database: delivered (COMPLETED, window
 * open), shipped, or delivered long ago; with their stock taken from a location (a reservation,
 * committed as fulfilment would) and, when asked, a real payment captured through the real payment
 * workflow and the sandbox provider. The end-to-end tests drive orders through checkout and fulfilment
 * over HTTP instead.
 */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { setStockLevels } from '../../db/inventory';
import { commitReservation, reserveStock } from '../../db/inventory-reservations';
import { insertOrder, orderById, type OrderRow } from '../../db/orders';
import { notificationOutbox } from '../../db/schema/notifications';
import { stockLevels } from '../../db/schema/inventory';
import { piiFields } from '../../identity/pii-fields';
import type { Config } from '../../platform/config';
import { encryptPii } from '../../platform/pii';
import type { Database } from '../../platform/postgres';
import { capturePaymentSignal, paymentStateQuery, paymentWorkflowId, paymentWorkflowType, type PaymentWorkflowInput } from '../../workflows/payments/definitions';
import { waitFor } from '../support/stack';
import type { SandboxProvider } from '../support/sandbox-psp';

export const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };
export const shippingAmount = 490;

export interface OrderLineSpec {
  sku: string;
  quantity: number;
  unitAmount: number;
}

export interface OrderSpec {
  accountId: string;
  lines: OrderLineSpec[];
  status?: 'COMPLETED' | 'SHIPPED' | 'CONFIRMED';
  /** Days since delivery (COMPLETED only); the window is 30 days. */
  deliveredDaysAgo?: number;
  location?: string;
  /** An address the carrier will refuse, for the label-refused path. */
  shippingAddress?: Record<string, unknown>;
}

/** A delivered order of `spec`: its stock reserved from `location` and committed, as fulfilment leaves it. */
export async function deliveredOrder(db: Database, config: Config, spec: OrderSpec): Promise<OrderRow> {
  const orderId = randomUUID();
  const location = spec.location ?? 'paris';
  const status = spec.status ?? 'COMPLETED';
  const day = 24 * 3_600_000;
  const deliveredAt = status === 'COMPLETED' ? new Date(Date.now() - (spec.deliveredDaysAgo ?? 2) * day) : null;
  const subtotal = spec.lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
  await setStockLevels(db, spec.lines.map((line) => ({ sku: line.sku, location, onHand: 100 })));
  await reserveStock(db, orderId, spec.lines.map(({ sku, quantity }) => ({ sku, quantity })), { ttlSeconds: 3600 });
  await commitReservation(db, orderId);
  await db.transaction((tx) =>
    insertOrder(
      tx,
      {
        id: orderId,
        cartId: randomUUID(),
        accountId: spec.accountId,
        status,
        currency: 'EUR',
        subtotalAmount: subtotal,
        shippingAmount,
        taxAmount: Math.round((subtotal + shippingAmount) / 6),
        totalAmount: subtotal + shippingAmount,
        shippingMethod: 'standard',
        shippingCountry: 'FR',
        shippingAddressEnc: encryptPii(config.pii.keyring, JSON.stringify(spec.shippingAddress ?? address), piiFields.orderShippingAddress.context(orderId)),
        workflowId: `returns-test-${orderId}`,
        deliveredAt,
        returnWindowEndsAt: deliveredAt ? new Date(deliveredAt.getTime() + 30 * day) : null,
      },
      spec.lines.map((line) => ({
        sku: line.sku,
        title: line.sku,
        quantity: line.quantity,
        unitAmount: line.unitAmount,
        lineAmount: line.unitAmount * line.quantity,
        taxAmount: Math.round((line.unitAmount * line.quantity) / 6),
      })),
    ),
  );
  return (await orderById(db, orderId))!;
}

/** The order's payment, authorised and captured for its total by the real payment workflow (no parent). */
export async function capturedPayment(client: Client, config: Config, psp: SandboxProvider, order: OrderRow, card: string): Promise<void> {
  const handle = await client.workflow.start(paymentWorkflowType, {
    workflowId: paymentWorkflowId(config.TASK_QUEUE_PREFIX, order.id),
    taskQueue: config.taskQueues.payments,
    args: [{ orderId: order.id, amount: order.totalAmount, currency: order.currency, paymentToken: await psp.tokenise(card) } satisfies PaymentWorkflowInput],
  });
  await waitFor(async () => (await handle.query(paymentStateQuery)).status === 'authorised', { what: 'payment authorised' });
  await handle.signal(capturePaymentSignal, {});
  await waitFor(async () => (await handle.query(paymentStateQuery)).status === 'captured', { what: 'payment captured' });
}

export async function onHand(db: Database, sku: string, location = 'paris'): Promise<number> {
  const rows = await db.select().from(stockLevels).where(eq(stockLevels.sku, sku));
  return rows.find((row) => row.location === location)?.onHand ?? 0;
}

/** The order events queued for an order (the event rows, not the messages they expand into), by name, in order. */
export async function orderEventsOf(db: Database, orderId: string): Promise<string[]> {
  const rows = await db
    .select()
    .from(notificationOutbox)
    .where(and(eq(notificationOutbox.orderId, orderId), eq(notificationOutbox.channel, 'event')))
    .orderBy(notificationOutbox.id);
  return rows.map((row) => row.template);
}

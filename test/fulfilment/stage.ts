/**
 * The stage the fulfilment end-to-end tests play on: the API and every worker in this process, the real
 * sandbox payment provider and the real sandbox carrier as child processes, both sending signed webhooks
 * back to the API. Orders are made the way a shopper makes them: cart, checkout, card.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { notificationOutbox } from '../../db/schema/notifications';
import { stockLevels } from '../../db/schema/inventory';
import type { Config } from '../../platform/config';
import { checkoutWorkflowId } from '../../workflows/orders/definitions';
import type { fulfilment } from '../../workflows/fulfilment/fulfilment';
import { fulfilmentStateQuery, fulfilmentWorkflowId, type FulfilmentState } from '../../workflows/fulfilment/definitions';
import { json } from '../support/http';
import type { SignedIn } from '../support/identity';
import { startSandboxCarrier, type SandboxCarrier, type SandboxParcel, type StartSandboxCarrierOptions } from '../support/sandbox-carrier';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

export const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

export type Order = {
  id: string;
  status: string;
  statusReason: string | null;
  totalAmount: number;
  history: { status: string; reason: string | null }[];
};

export type Tracking = {
  orderId: string;
  orderStatus: string;
  deliveredAt: string | null;
  returnWindowEndsAt: string | null;
  shipments: {
    id: string;
    status: string;
    attempt: number;
    replacesShipmentId: string | null;
    trackingNumber: string | null;
    lines: { sku: string; quantity: number }[];
    deliveredAt: string | null;
    events: { type: string; status: string; occurredAt: string }[];
    staff?: { fromLocation: string; attention: string | null; exceptionDetail: string | null; labelUrl: string | null; ignoredEvents: number };
  }[];
};

export interface StageOptions {
  name: string;
  carrier?: StartSandboxCarrierOptions;
  /** Extra config (e.g. the time-skipping server's address). */
  config?: Record<string, string>;
}

export async function startStage(options: StageOptions) {
  const apiPort = await freePort();
  const webhookSecret = randomBytes(32).toString('base64url');
  const psp: SandboxProvider = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
  const carrier: SandboxCarrier = await startSandboxCarrier({
    webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/shipments`,
    webhookSecret,
    autoAdvance: false,
    log: 'error',
    ...options.carrier,
  });
  const config: Config = testConfig(options.name, {
    API_PORT: String(apiPort),
    WEBHOOK_SIGNING_SECRET: webhookSecret,
    PAYMENT_PROVIDER_URL: psp.baseUrl,
    PAYMENT_PROVIDER_API_KEY: psp.apiKey,
    CARRIER_URL: carrier.baseUrl,
    CARRIER_API_KEY: carrier.apiKey,
    ...options.config,
  });
  const api = await startApi(config);
  const worker = await startWorker(config);
  const db = api.deps.db;
  const client = api.deps.temporal.client;
  const run = randomUUID().slice(0, 6).toUpperCase();
  const sku = (name: string) => `FF-${run}-${name}`;

  const url = (path: string) => `${api.baseUrl}${path}`;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  /** A published product of one SKU, with stock at the given locations. */
  async function product(name: string, amount: number, stock: Record<string, number>) {
    await db.transaction((tx) =>
      upsertProduct(tx, {
        slug: `ff-${name.toLowerCase()}-${run.toLowerCase()}`,
        title: `Produit ${name}`,
        description: '',
        status: 'published',
        attributes: {},
        categories: [],
        variants: [{ sku: sku(name), title: `Produit ${name}`, options: {}, prices: [{ currency: 'EUR', amount }] }],
      }),
    );
    await setStockLevels(db, Object.entries(stock).map(([location, onHand]) => ({ sku: sku(name), location, onHand })));
  }

  const orderOf = async (customer: SignedIn, orderId: string) => json<Order>(await fetch(url(`/v1/orders/${orderId}`), { headers: customer.headers }), 200);
  const untilStatus = (customer: SignedIn, orderId: string, statuses: string[], timeoutMs = 90_000) =>
    waitFor(async () => {
      const order = await orderOf(customer, orderId);
      return statuses.includes(order.status) ? order : undefined;
    }, { what: `order ${orderId} to reach ${statuses.join('/')}`, timeoutMs, intervalMs: 200 });

  /** Cart → checkout with a card that succeeds → CONFIRMED (paid, handed over to fulfilment). */
  async function paidOrder(customer: SignedIn, lines: Record<string, number>, shippingAddress: Record<string, unknown> = address) {
    const opened = await post('/v1/carts', { currency: 'EUR' }, customer.headers);
    const cart = await json<{ id: string }>(opened, opened.status === 200 ? 200 : 201);
    for (const [line, quantity] of Object.entries(lines)) {
      await json(await fetch(url(`/v1/carts/${cart.id}/lines/${line}`), { method: 'PUT', headers: { ...customer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ quantity }) }), 200);
    }
    const paymentToken = await psp.tokenise(testCards.success);
    const placed = await json<{ orderId: string; totalAmount: number }>(
      await post('/v1/checkout', { cartId: cart.id, shippingAddress, shippingMethod: 'standard', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() }),
      201,
    );
    const order = await untilStatus(customer, placed.orderId, ['CONFIRMED', 'FAILED', 'CANCELLED']);
    if (order.status !== 'CONFIRMED') throw new Error(`order ${order.id} ended ${order.status}: ${order.statusReason}`);
    return { orderId: placed.orderId, cartId: cart.id, totalAmount: placed.totalAmount, checkoutWorkflowId: checkoutWorkflowId(config.TASK_QUEUE_PREFIX, cart.id) };
  }

  const fulfilmentHandle = (orderId: string) => client.workflow.getHandle<typeof fulfilment>(fulfilmentWorkflowId(config.TASK_QUEUE_PREFIX, orderId));

  /** The fulfilment workflow's state once `ready` holds (the workflow may not have started yet). */
  async function fulfilmentState(orderId: string, ready: (state: FulfilmentState) => boolean = () => true, what = 'fulfilment state'): Promise<FulfilmentState> {
    return waitFor(async () => {
      try {
        const state = await fulfilmentHandle(orderId).query(fulfilmentStateQuery);
        return ready(state) ? state : undefined;
      } catch {
        return undefined;
      }
    }, { what: `${what} of ${orderId}`, timeoutMs: 60_000, intervalMs: 200 });
  }

  /** The order's parcels at the carrier, once there are `count` booked. */
  async function parcels(orderId: string, count = 1): Promise<SandboxParcel[]> {
    return waitFor(async () => {
      const found = await carrier.parcelsOf(orderId);
      return found.length >= count ? found : undefined;
    }, { what: `${count} parcel(s) booked for ${orderId}` });
  }

  /** Until the workflow has taken `count` carrier events (applied or not). */
  const eventsTaken = (orderId: string, count: number) => fulfilmentState(orderId, (state) => state.events.length >= count, `${count} events taken`);

  const tracking = async (headers: Record<string, string>, orderId: string) => fetch(url(`/v1/orders/${orderId}/tracking`), { headers });

  async function stock(line: string) {
    const rows = await db.select().from(stockLevels).where(eq(stockLevels.sku, line));
    return Object.fromEntries(rows.map((row) => [row.location, { onHand: row.onHand, reserved: row.reserved }]));
  }

  /** The order events queued for the order, by name, in order. */
  async function orderEvents(orderId: string): Promise<string[]> {
    const rows = await db
      .select({ template: notificationOutbox.template })
      .from(notificationOutbox)
      .where(and(eq(notificationOutbox.orderId, orderId), eq(notificationOutbox.channel, 'event')))
      .orderBy(notificationOutbox.id);
    return rows.map((row) => row.template);
  }

  return {
    config,
    api,
    worker,
    psp,
    carrier,
    db,
    client,
    webhookSecret,
    sku,
    url,
    post,
    product,
    orderOf,
    untilStatus,
    paidOrder,
    fulfilmentHandle,
    fulfilmentState,
    parcels,
    eventsTaken,
    tracking,
    stock,
    orderEvents,
    async stop() {
      await worker?.stop();
      await api?.stop();
      await carrier?.stop();
      await psp?.stop();
    },
  };
}

export type Stage = Awaited<ReturnType<typeof startStage>>;

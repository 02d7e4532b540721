/**
 * The fulfilment activities are idempotent: each is run twice (as Temporal does after a worker dies
 * between the work and its report) against real Postgres, the real sandbox carrier and, for refunds,
 * the real payment workflow and sandbox provider — and nothing happens twice: no second shipment,
 * booking, parcel, stock movement, status, message or refund.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { createFulfilmentActivities, type PlannedShipment } from '../../activities/fulfilment/fulfilment';
import { markOrderShipped } from '../../db/fulfilment';
import { reserveStock } from '../../db/inventory-reservations';
import { insertOrder } from '../../db/orders';
import { shipments, trackingEvents } from '../../db/schema/fulfilment';
import { orderRecords, orderStatusHistory } from '../../db/schema/orders';
import { createSandboxCarrier } from '../../fulfilment/sandbox-carrier-adapter';
import { piiFields } from '../../identity/pii-fields';
import { encryptPii } from '../../platform/pii';
import { capturePaymentSignal, paymentStateQuery, paymentWorkflowId, paymentWorkflowType, type PaymentWorkflowInput } from '../../workflows/payments/definitions';
import { signedInAs } from '../support/identity';
import { testCards } from '../support/sandbox-psp';
import { waitFor } from '../support/stack';
import { address, startStage, type Stage } from './stage';

describe('fulfilment activities are idempotent', () => {
  let stage: Stage;
  let activities: ReturnType<typeof createFulfilmentActivities>;
  let orderId: string;
  let accountId: string;
  let plan: PlannedShipment[];

  before(async () => {
    stage = await startStage({ name: 'fulfilment-activities' });
    activities = createFulfilmentActivities({
      db: stage.db,
      config: stage.config,
      logger: stage.worker.context.logger,
      client: stage.client,
      carrier: createSandboxCarrier({ baseUrl: stage.carrier.baseUrl, apiKey: stage.carrier.apiKey }),
    });
    await stage.product('MUG', 1500, { paris: 10 });
    await stage.product('TEAPOT', 4500, { lyon: 10 });

    // A paid order made directly: its units reserved at two locations, its payment captured by the real payment workflow.
    accountId = (await signedInAs(stage.config, 'customer')).accountId;
    orderId = randomUUID();
    await reserveStock(stage.db, orderId, [{ sku: stage.sku('MUG'), quantity: 2 }, { sku: stage.sku('TEAPOT'), quantity: 1 }], { ttlSeconds: 3600 });
    const lines = [
      { sku: stage.sku('MUG'), title: 'Mug', quantity: 2, unitAmount: 1500, lineAmount: 3000, taxAmount: 500 },
      { sku: stage.sku('TEAPOT'), title: 'Théière', quantity: 1, unitAmount: 4500, lineAmount: 4500, taxAmount: 750 },
    ];
    await stage.db.transaction((tx) =>
      insertOrder(
        tx,
        {
          id: orderId,
          cartId: randomUUID(),
          accountId,
          status: 'CONFIRMED',
          currency: 'EUR',
          subtotalAmount: 7500,
          shippingAmount: 0,
          taxAmount: 1250,
          totalAmount: 7500,
          shippingMethod: 'standard',
          shippingCountry: 'FR',
          shippingAddressEnc: encryptPii(stage.config.pii.keyring, JSON.stringify(address), piiFields.orderShippingAddress.context(orderId)),
          workflowId: `fulfilment-activities-${orderId}`,
        },
        lines,
      ),
    );
    const payment = await stage.client.workflow.start(paymentWorkflowType, {
      workflowId: paymentWorkflowId(stage.config.TASK_QUEUE_PREFIX, orderId),
      taskQueue: stage.config.taskQueues.payments,
      args: [{ orderId, amount: 7500, currency: 'EUR', paymentToken: await stage.psp.tokenise(testCards.success) } satisfies PaymentWorkflowInput],
    });
    await waitFor(async () => (await payment.query(paymentStateQuery)).status === 'authorised', { what: 'payment authorised' });
    await payment.signal(capturePaymentSignal, {});
    await waitFor(async () => (await payment.query(paymentStateQuery)).status === 'captured', { what: 'payment captured' });
  });
  after(async () => {
    await stage?.stop();
  });

  const shipmentFrom = (location: string) => plan.find((s) => s.fromLocation === location)!;

  test('planShipments: one shipment per location, made once', async () => {
    plan = await activities.planShipments({ orderId });
    const again = await activities.planShipments({ orderId });
    assert.deepEqual(again, plan);
    assert.deepEqual(plan.map((s) => [s.fromLocation, s.lines]), [
      ['lyon', [{ sku: stage.sku('TEAPOT'), quantity: 1 }]],
      ['paris', [{ sku: stage.sku('MUG'), quantity: 2 }]],
    ]);
    assert.equal((await stage.db.select().from(shipments).where(eq(shipments.orderId, orderId))).length, 2);
  });

  test('bookShipment: the same booking twice, one parcel at the carrier — also when the first answer was never recorded', async () => {
    const paris = shipmentFrom('paris');
    const key = `test-wf/shipment/${paris.shipmentId}`;
    const first = await activities.bookShipment({ orderId, shipmentId: paris.shipmentId, idempotencyKey: key });
    assert.deepEqual(await activities.bookShipment({ orderId, shipmentId: paris.shipmentId, idempotencyKey: key }), first);
    // The worker died after the carrier booked but before the row was written: the retry gets the same parcel back.
    await stage.db.update(shipments).set({ status: 'planned', carrierShipmentId: null, trackingNumber: null, labelUrl: null, bookedAt: null }).where(eq(shipments.id, paris.shipmentId));
    assert.deepEqual(await activities.bookShipment({ orderId, shipmentId: paris.shipmentId, idempotencyKey: key }), first);
    const atCarrier = (await stage.carrier.parcelsOf(orderId)).filter((p) => p.reference === paris.shipmentId);
    assert.equal(atCarrier.length, 1);
    assert.equal(atCarrier[0]!.id, first.carrierShipmentId);
    const lyon = shipmentFrom('lyon');
    await activities.bookShipment({ orderId, shipmentId: lyon.shipmentId, idempotencyKey: `test-wf/shipment/${lyon.shipmentId}` });
  });

  test('commitOrderStock: the units leave the shelf once', async () => {
    const before = await stage.stock(stage.sku('MUG'));
    assert.deepEqual(await activities.commitOrderStock({ orderId }), { committed: 3 });
    assert.deepEqual(await activities.commitOrderStock({ orderId }), { committed: 0 });
    const after = await stage.stock(stage.sku('MUG'));
    assert.deepEqual(after.paris, { onHand: before.paris!.onHand - 2, reserved: before.paris!.reserved - 2 });
  });

  test('recordTrackingEvent: kept once; SHIPPED and its message once', async () => {
    const paris = shipmentFrom('paris');
    const [parcel] = (await stage.carrier.parcelsOf(orderId)).filter((p) => p.reference === paris.shipmentId);
    const event = { id: `evt_${randomUUID()}`, type: 'picked_up' as const, occurredAt: new Date().toISOString(), data: { carrierShipmentId: parcel!.id, trackingNumber: parcel!.trackingNumber, reference: paris.shipmentId, kind: 'outbound' as const } };
    const input = { orderId, accountId, shipmentId: paris.shipmentId, event, applied: true, statusAfter: 'picked_up' as const, passed: ['picked_up' as const], exception: false };
    assert.deepEqual(await activities.recordTrackingEvent(input), { recorded: true, orderShipped: true });
    assert.deepEqual(await activities.recordTrackingEvent(input), { recorded: false, orderShipped: false });
    assert.equal((await stage.db.select().from(trackingEvents).where(eq(trackingEvents.shipmentId, paris.shipmentId))).length, 1);
    const history = await stage.db.select().from(orderStatusHistory).where(and(eq(orderStatusHistory.orderId, orderId), eq(orderStatusHistory.status, 'SHIPPED')));
    assert.equal(history.length, 1);
    assert.deepEqual((await stage.orderEvents(orderId)).filter((e) => e === 'order_shipped'), ['order_shipped']);
    const [row] = await stage.db.select().from(shipments).where(eq(shipments.id, paris.shipmentId));
    assert.equal(row?.status, 'picked_up');
    assert.equal(row?.pickedUpAt?.toISOString(), event.occurredAt);
  });

  test('reshipShipment: one replacement; units the carrier holds are replaced from stock once', async () => {
    const paris = shipmentFrom('paris');
    const before = await stage.stock(stage.sku('MUG'));
    const replacement = await activities.reshipShipment({ orderId, shipmentId: paris.shipmentId });
    assert.deepEqual(await activities.reshipShipment({ orderId, shipmentId: paris.shipmentId }), replacement);
    assert.equal(replacement.attempt, 2);
    assert.equal(replacement.replacesShipmentId, paris.shipmentId);
    assert.deepEqual(replacement.lines, paris.lines);
    assert.equal((await stage.stock(stage.sku('MUG'))).paris!.onHand, before.paris!.onHand - 2);
    const [old] = await stage.db.select().from(shipments).where(eq(shipments.id, paris.shipmentId));
    assert.equal(old?.status, 'cancelled');
  });

  test('refundShipment: one refund at the provider for the parcel’s lines; its uncollected units back on hand once', async () => {
    const lyon = shipmentFrom('lyon');
    const before = await stage.stock(stage.sku('TEAPOT'));
    const first = await activities.refundShipment({ orderId, shipmentId: lyon.shipmentId, reason: 'test' });
    assert.deepEqual(first, { status: 'succeeded', amount: 4500 });
    assert.deepEqual(await activities.refundShipment({ orderId, shipmentId: lyon.shipmentId, reason: 'test' }), first);
    const [payment] = await stage.psp.paymentsOf(orderId);
    assert.deepEqual(payment!.refunds.map((r) => r.amount), [4500]);
    assert.equal((await stage.stock(stage.sku('TEAPOT'))).lyon!.onHand, before.lyon!.onHand + 1);
    assert.deepEqual((await stage.orderEvents(orderId)).filter((e) => e === 'refund_issued'), ['refund_issued']);
  });

  test('completeOrder: COMPLETED with the return window, once', async () => {
    const deliveredAt = new Date().toISOString();
    const returnWindowEndsAt = new Date(Date.parse(deliveredAt) + 30 * 24 * 3_600_000).toISOString();
    assert.deepEqual(await activities.completeOrder({ orderId, deliveredAt, returnWindowEndsAt }), { changed: true });
    assert.deepEqual(await activities.completeOrder({ orderId, deliveredAt, returnWindowEndsAt }), { changed: false });
    const [order] = await stage.db.select().from(orderRecords).where(eq(orderRecords.id, orderId));
    assert.equal(order?.status, 'COMPLETED');
    assert.equal(order?.returnWindowEndsAt?.toISOString(), returnWindowEndsAt);
    const completed = await stage.db.select().from(orderStatusHistory).where(and(eq(orderStatusHistory.orderId, orderId), eq(orderStatusHistory.status, 'COMPLETED')));
    assert.equal(completed.length, 1);
    // A completed order is never taken back to SHIPPED by a late pick-up.
    assert.equal(await stage.db.transaction((tx) => markOrderShipped(tx, stage.config, orderId)), false);
  });
});

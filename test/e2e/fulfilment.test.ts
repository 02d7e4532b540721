/**
 * Fulfilment end to end: HTTP API, real workers, the real sandbox payment provider and the real sandbox
 * carrier sending signed webhooks back to the API, real Postgres and Temporal. Orders are paid through
 * checkout; from there on, only the carrier's webhooks (and ops decisions over HTTP) move them.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq, inArray } from 'drizzle-orm';
import { shipmentLines, shipments, trackingEvents } from '../../db/schema/fulfilment';
import { auditLog } from '../../db/schema/identity';
import { webhookInbox } from '../../db/schema/ops';
import { orderRecords, orderStatusHistory } from '../../db/schema/orders';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import { storeWebhookEvent } from '../../db/payments';
import { signatureHeader, signWebhook } from '../../payments/webhook-signature';
import { ensurePaymentWebhookDelivery } from '../../workers/payment-webhooks';
import { paymentWebhookDeliveryWorkflowId } from '../../workflows/payments/definitions';
import { fulfilmentWorkflowId } from '../../workflows/fulfilment/definitions';
import { recordHistory } from '../support/histories';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { carrierTestMarkers } from '../support/sandbox-carrier';
import { waitFor } from '../support/stack';
import { address, startStage, type Stage, type Tracking } from '../fulfilment/stage';

const day = 24 * 3_600_000;

describe('fulfilment end to end', () => {
  let stage: Stage;
  let ops: SignedIn;

  before(async () => {
    stage = await startStage({ name: 'fulfilment' });
    ops = await signedInAs(stage.config, 'ops');
    await stage.product('MUG', 1500, { paris: 50 });
    await stage.product('TEAPOT', 4500, { lyon: 20 });
    await stage.product('SCARF', 3000, { paris: 30 });
  });
  after(async () => {
    await stage?.stop();
  });

  const tracking = async (who: SignedIn, orderId: string) => json<Tracking>(await stage.tracking(who.headers, orderId), 200);
  const historyOf = async (orderId: string) =>
    (await stage.db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, orderId)).orderBy(orderStatusHistory.id)).map((row) => row.status);

  test('paid order → shipment → delivered → COMPLETED, driven only by carrier webhooks; the child outlives its checkout', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const stockBefore = await stage.stock(stage.sku('MUG'));
    const order = await stage.paidOrder(customer, { [stage.sku('MUG')]: 2 });

    // The checkout has ended; its fulfilment child goes on (ParentClosePolicy ABANDON).
    await stage.client.workflow.getHandle(order.checkoutWorkflowId).result();
    const child = await stage.fulfilmentHandle(order.orderId).describe();
    assert.equal(child.status.name, 'RUNNING');
    assert.equal(child.parentExecution?.workflowId, order.checkoutWorkflowId);
    assert.equal(child.taskQueue, stage.config.taskQueues.fulfilment);

    const [parcel] = await stage.parcels(order.orderId);
    const booked = await stage.fulfilmentState(order.orderId, (s) => s.shipments[0]?.status === 'booked', 'booking recorded');
    assert.equal(booked.shipments[0]!.carrierShipmentId, parcel!.id);
    assert.deepEqual(parcel!.lines, [{ sku: stage.sku('MUG'), quantity: 2 }]);
    // Every parcel has its label: the units left the shelf, once.
    await waitFor(async () => (await stage.stock(stage.sku('MUG'))).paris!.onHand === stockBefore.paris!.onHand - 2, { what: 'the reservation committed' });
    assert.equal((await stage.stock(stage.sku('MUG'))).paris!.reserved, stockBefore.paris!.reserved);
    // The address reached the carrier, not the workflow history.
    const history = JSON.stringify(await stage.fulfilmentHandle(order.orderId).fetchHistory());
    assert.ok(!history.includes(address.line1) && !history.includes(address.name), 'no address in the fulfilment history');

    // The SSE stream follows the parcel and ends with the order.
    const sse = fetch(stage.url(`/v1/orders/${order.orderId}/events`), { headers: customer.headers }).then((response) => response.text());

    await stage.carrier.advance(parcel!.id);
    const shipped = await stage.untilStatus(customer, order.orderId, ['SHIPPED']);
    assert.equal(shipped.history.at(-1)?.reason, 'first parcel picked up by the carrier');
    for (let step = 0; step < 3; step++) await stage.carrier.advance(parcel!.id);

    const completed = await stage.untilStatus(customer, order.orderId, ['COMPLETED']);
    assert.deepEqual(completed.history.map((entry) => entry.status), ['PENDING', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED', 'SHIPPED', 'COMPLETED']);
    const [row] = await stage.db.select().from(orderRecords).where(eq(orderRecords.id, order.orderId));
    const deliveredEvent = (await stage.carrier.parcel(parcel!.id)).events.find((e) => e.type === 'delivered')!;
    assert.equal(row!.deliveredAt?.toISOString(), new Date(deliveredEvent.occurredAt).toISOString());
    assert.equal(row!.returnWindowEndsAt!.getTime() - row!.deliveredAt!.getTime(), 30 * day);

    const view = await tracking(customer, order.orderId);
    assert.equal(view.orderStatus, 'COMPLETED');
    assert.equal(view.returnWindowEndsAt, row!.returnWindowEndsAt!.toISOString());
    assert.equal(view.shipments.length, 1);
    assert.equal(view.shipments[0]!.status, 'delivered');
    assert.equal(view.shipments[0]!.trackingNumber, parcel!.trackingNumber);
    assert.deepEqual(view.shipments[0]!.events.map((e) => e.type), ['picked_up', 'in_transit', 'out_for_delivery', 'delivered']);
    assert.equal(view.shipments[0]!.staff, undefined, 'the customer does not see the staff block');

    const stream = await sse;
    const frames = stream.split('\n\n').filter(Boolean);
    assert.deepEqual(
      frames.filter((f) => f.includes('event: tracking')).map((f) => (JSON.parse(f.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as { type: string }).type),
      ['picked_up', 'in_transit', 'out_for_delivery', 'delivered'],
    );
    assert.ok(frames.some((f) => f.includes('event: status') && f.includes('"COMPLETED"')), 'the stream ends at COMPLETED');

    const result = await stage.fulfilmentHandle(order.orderId).result();
    assert.equal(result.status, 'completed');
    const events = await stage.orderEvents(order.orderId);
    for (const name of ['order_shipped', 'order_out_for_delivery', 'order_delivered']) assert.equal(events.filter((e) => e === name).length, 1, `${name} once: ${events.join(', ')}`);

    // Delivered: the customer's loyalty account earns once, 1 point per whole euro paid (bronze, ×1).
    const [paid] = await stage.db.select({ total: orderRecords.totalAmount }).from(orderRecords).where(eq(orderRecords.id, order.orderId));
    const loyalty = await waitFor(async () => {
      const view = await json<{ balance: number; history: { points: number }[] }>(await fetch(`${stage.api.baseUrl}/v1/me/loyalty`, { headers: customer.headers }), 200);
      return view.balance > 0 ? view : undefined;
    }, { what: 'points earned for the delivered order' });
    assert.equal(loyalty.balance, Math.floor(paid!.total / 100));
    assert.equal(loyalty.history.length, 1, 'earned once');

    await recordHistory(stage.client, order.checkoutWorkflowId, 'checkout-fulfilment-child');
    await recordHistory(stage.client, fulfilmentWorkflowId(stage.config.TASK_QUEUE_PREFIX, order.orderId), 'fulfilment-delivered');
  });

  test('duplicated and out-of-order events: nothing moves backwards, nothing happens twice', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const order = await stage.paidOrder(customer, { [stage.sku('SCARF')]: 1 });
    const [parcel] = await stage.parcels(order.orderId);
    await stage.fulfilmentState(order.orderId, (s) => s.shipments[0]?.status === 'booked');

    // The carrier sends in_transit before picked_up.
    await stage.carrier.settings({ reorder: true, reorderWindowMs: 10_000 });
    const pickedUp = await stage.carrier.advance(parcel!.id);
    const inTransit = await stage.carrier.advance(parcel!.id);
    await stage.carrier.settings({ reorder: false });
    await stage.eventsTaken(order.orderId, 2);
    // The same events again (the carrier was unsure they arrived), and a late, stale "picked up" under a new id.
    await stage.carrier.redeliver(inTransit.id);
    await stage.carrier.redeliver(pickedUp.id);
    const stale = await stage.carrier.emit(parcel!.id, 'picked_up');
    await stage.eventsTaken(order.orderId, 3);
    await stage.carrier.advance(parcel!.id); // out_for_delivery
    const delivered = await stage.carrier.advance(parcel!.id);
    await stage.untilStatus(customer, order.orderId, ['COMPLETED']);
    // A duplicate delivered after the end: acknowledged, changes nothing.
    await stage.carrier.redeliver(delivered.id);
    await waitFor(async () => (await stage.carrier.parcel(parcel!.id)).deliveries.filter((d) => d.eventId === delivered.id && d.delivered).length === 2, { what: 'the late duplicate acknowledged' });

    const state = await stage.fulfilmentHandle(order.orderId).result();
    assert.deepEqual(
      state.events.map((e) => [e.type, e.applied, e.ignoredBecause ?? null]),
      [
        ['in_transit', true, null],
        ['picked_up', false, 'behind'],
        ['picked_up', false, 'behind'],
        ['out_for_delivery', true, null],
        ['delivered', true, null],
      ],
    );
    assert.equal(state.events[2]!.id, stale.id);
    const rows = await stage.db.select().from(trackingEvents).where(eq(trackingEvents.orderId, order.orderId));
    assert.equal(rows.length, 5, 'each carrier event kept once');
    assert.equal(new Set(rows.map((r) => r.eventId)).size, 5);
    // The inbox kept every event id once; duplicates were answered, not re-stored.
    const inbox = await stage.db
      .select()
      .from(webhookInbox)
      .where(and(eq(webhookInbox.provider, 'sandbox-carrier'), inArray(webhookInbox.eventId, [pickedUp.id, inTransit.id, delivered.id])));
    assert.equal(inbox.length, 3);
    assert.ok(inbox.every((r) => r.status === 'delivered'), JSON.stringify(inbox.map((r) => r.status)));
    assert.deepEqual(await historyOf(order.orderId), ['PENDING', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED', 'SHIPPED', 'COMPLETED']);
    const events = await stage.orderEvents(order.orderId);
    assert.equal(events.filter((e) => e === 'order_shipped').length, 1);
    assert.equal(events.filter((e) => e === 'order_delivered').length, 1);
  });

  test('split shipment: stock at two locations ships as two parcels; the order completes when both arrive', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const order = await stage.paidOrder(customer, { [stage.sku('MUG')]: 1, [stage.sku('TEAPOT')]: 1 });
    const found = await stage.parcels(order.orderId, 2);
    const bySku = (sku: string) => found.find((p) => p.lines.some((l) => l.sku === sku))!;
    const paris = bySku(stage.sku('MUG'));
    const lyon = bySku(stage.sku('TEAPOT'));
    assert.notEqual(paris.id, lyon.id);
    assert.deepEqual(paris.lines, [{ sku: stage.sku('MUG'), quantity: 1 }]);
    assert.deepEqual(lyon.lines, [{ sku: stage.sku('TEAPOT'), quantity: 1 }]);
    const rows = await stage.db.select().from(shipments).where(eq(shipments.orderId, order.orderId));
    assert.deepEqual(rows.map((r) => r.fromLocation).sort(), ['lyon', 'paris']);
    assert.equal((await stage.db.select().from(shipmentLines).where(inArray(shipmentLines.shipmentId, rows.map((r) => r.id)))).length, 2);

    for (let step = 0; step < 4; step++) await stage.carrier.advance(paris.id);
    await stage.untilStatus(customer, order.orderId, ['SHIPPED']);
    await stage.fulfilmentState(order.orderId, (s) => s.shipments.some((p) => p.status === 'delivered'), 'first parcel delivered');
    assert.equal((await stage.orderOf(customer, order.orderId)).status, 'SHIPPED', 'one parcel of two: not complete');

    await stage.carrier.advance(lyon.id);
    await stage.carrier.emit(lyon.id, 'delivered');
    const done = await stage.untilStatus(customer, order.orderId, ['COMPLETED']);
    assert.equal(done.history.filter((h) => h.status === 'SHIPPED').length, 1, 'SHIPPED once, on the first pick-up');
    const view = await tracking(customer, order.orderId);
    assert.deepEqual(view.shipments.map((s) => s.status), ['delivered', 'delivered']);
    // The order's delivery is its last parcel's.
    const lastDelivered = Math.max(...view.shipments.map((s) => Date.parse(s.deliveredAt!)));
    assert.equal(view.deliveredAt, new Date(lastDelivered).toISOString());
  });

  test('carrier exception → escalated; ops decide wait, then reship: a new parcel, units replaced from stock, delivered', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const other = await signedInAs(stage.config, 'customer');
    const stockBefore = await stage.stock(stage.sku('SCARF'));
    const order = await stage.paidOrder(customer, { [stage.sku('SCARF')]: 2 }, { ...address, line2: carrierTestMarkers.exception });
    const [parcel] = await stage.parcels(order.orderId);
    assert.equal(parcel!.scenario, 'exception');
    for (let step = 0; step < 3; step++) await stage.carrier.advance(parcel!.id);
    const escalated = await stage.fulfilmentState(order.orderId, (s) => s.status === 'escalated', 'escalation');
    assert.equal(escalated.shipments[0]!.attention, 'exception');
    assert.equal(escalated.shipments[0]!.status, 'exception');
    const described = await stage.fulfilmentHandle(order.orderId).describe();
    assert.deepEqual(described.searchAttributes.FulfilmentStatus, ['ESCALATED']);
    assert.ok((await stage.orderEvents(order.orderId)).includes('shipment_exception'));

    // Staff see why; the customer sees the parcel's progress; anyone else sees nothing.
    const staffView = await tracking(ops, order.orderId);
    assert.equal(staffView.shipments[0]!.staff?.attention, 'exception');
    assert.match(staffView.shipments[0]!.staff?.exceptionDetail ?? '', /address not found/);
    assert.equal((await tracking(customer, order.orderId)).shipments[0]!.staff, undefined);
    await problem(await stage.tracking(other.headers, order.orderId), 404);
    const listed = await json<{ shipments: { id: string; attention: string }[] }>(await fetch(stage.url('/v1/admin/shipments/escalated?attention=exception'), { headers: ops.headers }), 200);
    assert.ok(listed.shipments.some((s) => s.id === escalated.shipments[0]!.shipmentId));

    const decide = (who: SignedIn, shipmentId: string, body: unknown) => stage.post(`/v1/admin/orders/${order.orderId}/shipments/${shipmentId}/decision`, body, who.headers);
    const shipmentId = escalated.shipments[0]!.shipmentId;
    // Only ops decide, and only what the route knows.
    await problem(await decide(customer, shipmentId, { decision: 'wait' }), 403);
    const bad = await problem(await decide(ops, shipmentId, { decision: 'teleport' }), 422);
    assert.deepEqual(fields(bad), ['decision']);
    await problem(await decide(ops, randomUUID(), { decision: 'wait' }), 404);

    // Wait: the escalation is cleared; the carrier's next exception escalates again.
    assert.equal((await decide(ops, shipmentId, { decision: 'wait', note: 'carrier says it will retry' })).status, 202);
    await stage.fulfilmentState(order.orderId, (s) => s.status === 'in_progress' && !s.shipments[0]!.attention, 'escalation cleared');
    await problem(await decide(ops, shipmentId, { decision: 'wait' }), 409);
    await stage.carrier.emit(parcel!.id, 'exception', { detail: 'parcel damaged' });
    await stage.fulfilmentState(order.orderId, (s) => s.shipments[0]!.attention === 'exception', 'escalated again');

    // Reship: the old parcel is cancelled, a new one booked; the carrier holds the old units, so new ones leave the shelf.
    assert.equal((await decide(ops, shipmentId, { decision: 'reship' })).status, 202);
    const reshipped = await stage.fulfilmentState(order.orderId, (s) => s.shipments.length === 2 && s.shipments[1]!.status === 'booked', 'replacement booked');
    assert.equal(reshipped.shipments[0]!.status, 'cancelled');
    assert.equal(reshipped.shipments[1]!.replacesShipmentId, shipmentId);
    assert.equal(reshipped.shipments[1]!.attempt, 2);
    assert.deepEqual(reshipped.shipments[1]!.decisions, []);
    assert.deepEqual(reshipped.shipments[0]!.decisions.map((d) => [d.decision, d.attention, d.actor]), [['wait', 'exception', ops.accountId], ['reship', 'exception', ops.accountId]]);
    const stockNow = await stage.stock(stage.sku('SCARF'));
    assert.equal(stockNow.paris!.onHand, stockBefore.paris!.onHand - 4, 'two units in the lost parcel, two in the replacement');
    assert.equal(stockNow.paris!.reserved, stockBefore.paris!.reserved);

    const replacement = (await stage.parcels(order.orderId, 2)).find((p) => p.id !== parcel!.id)!;
    assert.equal(replacement.reference, reshipped.shipments[1]!.shipmentId);
    // The old parcel turns up after all: recorded, not followed.
    await stage.carrier.emit(parcel!.id, 'delivered');
    await stage.carrier.emit(replacement.id, 'picked_up');
    await stage.carrier.emit(replacement.id, 'delivered');
    await stage.untilStatus(customer, order.orderId, ['COMPLETED']);
    const final = await stage.fulfilmentHandle(order.orderId).result();
    assert.deepEqual(final.shipments.map((s) => s.status), ['cancelled', 'delivered']);
    const ignored = final.events.find((e) => e.shipmentId === shipmentId && e.type === 'delivered');
    assert.equal(ignored?.applied, false);

    const audit = await stage.db.select().from(auditLog).where(and(eq(auditLog.action, 'fulfilment.shipment_decision'), eq(auditLog.targetId, shipmentId)));
    assert.equal(audit.length, 2, 'both decisions audited');
    assert.ok(audit.every((entry) => entry.actorId === ops.accountId));
    await recordHistory(stage.client, fulfilmentWorkflowId(stage.config.TASK_QUEUE_PREFIX, order.orderId), 'fulfilment-exception-reship');
  });

  test('returned to sender → refund: the parcel is given up, its units back on hand, its lines refunded once; nothing delivered → CANCELLED', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const stockBefore = await stage.stock(stage.sku('SCARF'));
    const order = await stage.paidOrder(customer, { [stage.sku('SCARF')]: 1 });
    const [parcel] = await stage.parcels(order.orderId);
    await stage.carrier.advance(parcel!.id);
    await stage.carrier.emit(parcel!.id, 'returned_to_sender', { detail: 'refused by the recipient' });
    const escalated = await stage.fulfilmentState(order.orderId, (s) => s.shipments[0]?.attention === 'returned_to_sender', 'returned to sender');
    const shipmentId = escalated.shipments[0]!.shipmentId;
    // Waiting would change nothing for a parcel back at our warehouse: the escalation stays.
    assert.equal((await stage.post(`/v1/admin/orders/${order.orderId}/shipments/${shipmentId}/decision`, { decision: 'wait' }, ops.headers)).status, 202);
    assert.equal((await stage.post(`/v1/admin/orders/${order.orderId}/shipments/${shipmentId}/decision`, { decision: 'refund' }, ops.headers)).status, 202);
    const done = await stage.untilStatus(customer, order.orderId, ['CANCELLED']);
    assert.equal(done.statusReason, 'no parcel delivered; refunded');
    const final = await stage.fulfilmentHandle(order.orderId).result();
    assert.equal(final.status, 'cancelled');
    assert.deepEqual(final.shipments[0]!.refund, { status: 'succeeded', amount: 3000 });
    const [payment] = await stage.psp.paymentsOf(order.orderId);
    assert.deepEqual(payment!.refunds.map((r) => r.amount), [3000]);
    assert.equal((await stage.stock(stage.sku('SCARF'))).paris!.onHand, stockBefore.paris!.onHand, 'the returned unit is back on hand');
    assert.ok((await stage.orderEvents(order.orderId)).includes('refund_issued'));
  });

  test('a carrier event stored while its workflow could not be told is delivered by the partner inbox sweeper', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const order = await stage.paidOrder(customer, { [stage.sku('MUG')]: 1 });
    const [parcel] = await stage.parcels(order.orderId);
    const state = await stage.fulfilmentState(order.orderId, (s) => s.shipments[0]?.status === 'booked');
    // As the route leaves it when Temporal does not answer: stored, pending, nobody signalled.
    const event: CarrierTrackingEvent = {
      id: `evt_${randomUUID()}`,
      type: 'picked_up',
      occurredAt: new Date().toISOString(),
      data: { carrierShipmentId: parcel!.id, trackingNumber: parcel!.trackingNumber, reference: state.shipments[0]!.shipmentId, kind: 'outbound' },
    };
    const stored = await storeWebhookEvent(stage.db, { provider: 'sandbox-carrier', eventId: event.id, eventType: event.type, payload: event as unknown as Record<string, unknown> });
    assert.ok(stored.stored);
    await ensurePaymentWebhookDelivery(stage.worker.context, { batchSize: 20, idleWaitMs: 2_000, graceMs: 0 });
    await stage.untilStatus(customer, order.orderId, ['SHIPPED']);
    const [row] = await stage.db.select().from(webhookInbox).where(eq(webhookInbox.id, stored.row.id));
    assert.equal(row?.status, 'delivered');
    assert.ok((await stage.fulfilmentState(order.orderId)).events.some((e) => e.id === event.id && e.applied));
    await stage.client.workflow.getHandle(paymentWebhookDeliveryWorkflowId(stage.config.TASK_QUEUE_PREFIX)).terminate('test over');
  });

  test('forged, expired or malformed webhooks are refused with problem+json; an unknown parcel is stored and reported, not lost', async () => {
    const send = (raw: string, header?: string) =>
      fetch(stage.url('/v1/webhooks/shipments'), { method: 'POST', headers: { 'content-type': 'application/json', ...(header ? { [signatureHeader]: header } : {}) }, body: raw });
    const now = () => Math.floor(Date.now() / 1000);
    const event: CarrierTrackingEvent = {
      id: `evt_${randomUUID()}`,
      type: 'delivered',
      occurredAt: new Date().toISOString(),
      data: { carrierShipmentId: 'shp_unknown', trackingNumber: 'SBX000000000000A', reference: randomUUID(), kind: 'outbound' },
    };
    const raw = JSON.stringify(event);

    const forged = await problem(await send(raw, signWebhook(`whsec_${randomBytes(24).toString('base64url')}`, raw, now())), 401);
    assert.equal(forged.type, 'https://comptoir.dev/problems/invalid-signature');
    assert.deepEqual(fields(forged), ['comptoir-signature']);
    await problem(await send(raw), 401);
    const expired = await problem(await send(raw, signWebhook(stage.webhookSecret, raw, now() - 6 * 60)), 401);
    assert.match(expired.detail ?? '', /5 minutes/);
    const tampered = raw.replace('delivered', 'exception');
    await problem(await send(tampered, signWebhook(stage.webhookSecret, raw, now())), 401);

    const malformed = JSON.stringify({ ...event, type: 'teleported', occurredAt: 'yesterday' });
    const invalid = await problem(await send(malformed, signWebhook(stage.webhookSecret, malformed, now())), 422);
    assert.deepEqual(fields(invalid)?.sort(), ['occurredAt', 'type']);
    const notJson = '{"id":';
    await problem(await send(notJson, signWebhook(stage.webhookSecret, notJson, now())), 400);
    // None of the refused ones reached the inbox.
    assert.equal((await stage.db.select().from(webhookInbox).where(eq(webhookInbox.eventId, event.id))).length, 0);

    const receipt = await json<{ received: boolean; duplicate: boolean; status: string }>(await send(raw, signWebhook(stage.webhookSecret, raw, now())), 200);
    assert.deepEqual(receipt, { received: true, duplicate: false, status: 'orphaned' });
    const [row] = await stage.db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, 'sandbox-carrier'), eq(webhookInbox.eventId, event.id)));
    assert.equal(row?.status, 'orphaned');
    assert.match(row?.lastError ?? '', /no shipment/);
    const again = await json<{ duplicate: boolean }>(await send(raw, signWebhook(stage.webhookSecret, raw, now())), 200);
    assert.equal(again.duplicate, true);
  });

  test('tracking: bad ids are problem+json; another customer gets 404', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const bad = await problem(await stage.tracking(customer.headers, 'not-a-uuid'), 400);
    assert.deepEqual(fields(bad), ['id']);
    await problem(await stage.tracking(customer.headers, randomUUID()), 404);
    await problem(await stage.tracking(ops.headers, randomUUID()), 404);
    // Staff may read any order, so a missing one must still be a 404, not a crash, on every order route.
    const missing = randomUUID();
    await problem(await fetch(stage.url(`/v1/orders/${missing}`), { headers: ops.headers }), 404);
    await problem(await fetch(stage.url(`/v1/orders/${missing}/events`), { headers: ops.headers }), 404);
    await problem(await fetch(stage.url(`/v1/orders/${randomUUID()}/tracking`)), 401);
    const badList = await problem(await fetch(stage.url('/v1/admin/shipments/escalated?attention=lost'), { headers: ops.headers }), 400);
    assert.deepEqual(fields(badList), ['attention']);
  });
});

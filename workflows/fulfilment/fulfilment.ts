import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { FulfilmentActivities, PlannedShipment } from '../../activities/fulfilment/fulfilment';
import type { ShipmentAttention, ShipmentStatus } from '../../db/schema/fulfilment';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import { activityPresets } from '../activity-presets';
import {
  carrierEventSignal,
  defaultFulfilmentSettings,
  fulfilmentSearchAttributes,
  fulfilmentStateQuery,
  resolveEscalationSignal,
  type FulfilmentInput,
  type FulfilmentState,
  type FulfilmentStatus,
  type ResolveEscalation,
  type ShipmentView,
} from './definitions';
import { applyCarrierEvent, isFinal, newParcelTracking, statusOf, type ParcelTracking } from './tracking';

const store = proxyActivities<FulfilmentActivities>(activityPresets.databaseWrite);
const partner = proxyActivities<FulfilmentActivities>(activityPresets.partnerCall);

interface Parcel {
  view: ShipmentView;
  tracking: ParcelTracking;
  /** Epoch ms (workflow time) the pick-up SLA falls due, while it runs. */
  pickupDueAt?: number;
}

/** The business reason inside an activity failure, when the activity refused rather than crashed. */
function refusal(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure && cause.nonRetryable ? cause : undefined;
}

const settled = (parcel: Parcel) => parcel.view.status === 'delivered' || parcel.view.status === 'cancelled';

/**
 * One per paid order (`fulfilment-<orderId>`), started by the checkout as a child that outlives it. Ships
 * the order from where its units are reserved — one parcel per stock location — books each with the
 * carrier, then follows every parcel through the carrier's events (signal `carrierEvent`) until each is
 * delivered or settled by ops, and completes the order: COMPLETED, `delivered_at`, return window.
 *
 * What waits for a person, with `FulfilmentStatus = "ESCALATED"` and the shipment's `attention`:
 * a parcel not picked up within 48 h of booking, a carrier exception, a parcel returned to sender, a
 * booking the carrier refused. Ops answer with `resolveEscalation` (reship, wait, refund).
 */
export async function fulfilment(input: FulfilmentInput): Promise<FulfilmentState> {
  const settings = { ...defaultFulfilmentSettings, ...input.settings };
  const { orderId } = input;
  const state: FulfilmentState = { orderId, status: 'allocating', shipments: [], events: [] };
  const parcels = new Map<string, Parcel>();
  const inbox: CarrierTrackingEvent[] = [];
  const decisions: ResolveEscalation[] = [];

  setHandler(fulfilmentStateQuery, () => state);
  setHandler(carrierEventSignal, (event) => {
    inbox.push(event);
  });
  setHandler(resolveEscalationSignal, (decision) => {
    decisions.push(decision);
  });

  const now = () => Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();

  function setStatus(status: FulfilmentStatus) {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: fulfilmentSearchAttributes.fulfilmentStatus, value: status.toUpperCase() }]);
  }
  upsertSearchAttributes([
    { key: fulfilmentSearchAttributes.orderId, value: orderId },
    { key: fulfilmentSearchAttributes.customerId, value: input.accountId },
    { key: fulfilmentSearchAttributes.fulfilmentStatus, value: 'ALLOCATING' },
  ]);

  const refreshStatus = () => setStatus([...parcels.values()].some((p) => p.view.attention) ? 'escalated' : 'in_progress');

  function addParcel(shipment: PlannedShipment): Parcel {
    const parcel: Parcel = {
      view: {
        shipmentId: shipment.shipmentId,
        fromLocation: shipment.fromLocation,
        attempt: shipment.attempt,
        ...(shipment.replacesShipmentId ? { replacesShipmentId: shipment.replacesShipmentId } : {}),
        lines: shipment.lines,
        status: shipment.status,
        decisions: [],
      },
      tracking: newParcelTracking(),
    };
    parcels.set(shipment.shipmentId, parcel);
    state.shipments.push(parcel.view);
    return parcel;
  }

  async function escalate(parcel: Parcel, attention: ShipmentAttention) {
    parcel.view.attention = attention;
    delete parcel.pickupDueAt;
    delete parcel.view.pickupDueAt;
    await store.flagShipment({ shipmentId: parcel.view.shipmentId, attention });
    refreshStatus();
  }

  async function clearAttention(parcel: Parcel) {
    if (!parcel.view.attention) return;
    delete parcel.view.attention;
    await store.flagShipment({ shipmentId: parcel.view.shipmentId, attention: null });
    refreshStatus();
  }

  function startPickupClock(parcel: Parcel, from = now()) {
    parcel.pickupDueAt = from + settings.pickupSlaMs;
    parcel.view.pickupDueAt = iso(parcel.pickupDueAt);
  }

  async function book(parcel: Parcel) {
    const { shipmentId } = parcel.view;
    try {
      // Built from the workflow id and the shipment: a retried booking is the same booking at the carrier.
      const booking = await partner.bookShipment({ orderId, shipmentId, idempotencyKey: `${workflowInfo().workflowId}/shipment/${shipmentId}` });
      parcel.view.carrierShipmentId = booking.carrierShipmentId;
      parcel.view.trackingNumber = booking.trackingNumber;
      parcel.view.labelUrl = booking.labelUrl;
      parcel.view.bookedAt = iso(now());
      // Events may have overtaken the booking's answer: they decide the status then.
      if (parcel.view.status === 'planned') parcel.view.status = 'booked';
      if (parcel.tracking.stage === 'booked' && !parcel.tracking.returnedToSender) startPickupClock(parcel);
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      parcel.view.exceptionDetail = refused.message;
      await escalate(parcel, 'booking_refused');
    }
  }

  async function takeEvent(event: CarrierTrackingEvent) {
    const parcel = parcels.get(event.data.reference) ?? [...parcels.values()].find((p) => p.view.carrierShipmentId === event.data.carrierShipmentId);
    const note = { id: event.id, type: event.type, occurredAt: event.occurredAt };
    if (!parcel) {
      state.events.push({ ...note, applied: false, ignoredBecause: 'unknown_shipment' });
      return;
    }
    const { shipmentId } = parcel.view;
    const step = applyCarrierEvent(parcel.tracking, event);
    if (step.ignoredBecause === 'duplicate') return;
    parcel.tracking = step.tracking;
    // A cancelled parcel (reshipped or refunded) is recorded, never followed again.
    const applied = step.applied && parcel.view.status !== 'cancelled';
    const statusAfter: ShipmentStatus = applied ? statusOf(parcel.tracking) : parcel.view.status;
    let attention: ShipmentAttention | null | undefined;
    if (applied) {
      if (step.exception) attention = 'exception';
      else if (step.returnedToSender) attention = 'returned_to_sender';
      else if (parcel.view.attention && (step.passed.includes('picked_up') || step.recovered || parcel.tracking.stage === 'delivered')) attention = null;
    }
    await store.recordTrackingEvent({
      orderId,
      accountId: input.accountId,
      shipmentId,
      event,
      applied,
      statusAfter,
      passed: applied ? step.passed : [],
      exception: applied && step.exception,
      ...(attention !== undefined ? { attention } : {}),
      ...(parcel.view.trackingNumber ? { trackingNumber: parcel.view.trackingNumber } : {}),
    });
    state.events.push({ ...note, shipmentId, applied, ...(applied ? {} : { ignoredBecause: step.ignoredBecause ?? 'cancelled' }) });
    if (!applied) return;
    parcel.view.status = statusAfter;
    if (step.passed.includes('picked_up') || isFinal(parcel.tracking)) {
      delete parcel.pickupDueAt;
      delete parcel.view.pickupDueAt;
    }
    if (step.exception) parcel.view.exceptionDetail = event.data.detail ?? 'carrier exception';
    if (parcel.tracking.deliveredAt) parcel.view.deliveredAt = parcel.tracking.deliveredAt;
    if (attention === null) delete parcel.view.attention;
    else if (attention) {
      parcel.view.attention = attention;
      delete parcel.pickupDueAt;
      delete parcel.view.pickupDueAt;
    }
    refreshStatus();
  }

  async function decide(decision: ResolveEscalation) {
    const parcel = parcels.get(decision.shipmentId);
    const attention = parcel?.view.attention;
    // Nothing to decide (already resolved, or a repeated signal): the first answer stands.
    if (!parcel || !attention) return;
    const decidedAt = now();
    parcel.view.decisions.push({ decision: decision.decision, attention, at: iso(decidedAt), ...(decision.actor ? { actor: decision.actor } : {}), ...(decision.note ? { note: decision.note } : {}) });
    switch (decision.decision) {
      case 'wait':
        // A refused booking or a parcel back at our warehouse will not move by itself: only reship or refund settle them.
        if (attention === 'booking_refused' || attention === 'returned_to_sender') return;
        await clearAttention(parcel);
        // Another full period from the decision: ops chased the carrier and give it the same time again.
        if (attention === 'pickup_overdue') startPickupClock(parcel, decidedAt);
        return;
      case 'reship': {
        let replacement: PlannedShipment;
        try {
          replacement = await store.reshipShipment({ orderId, shipmentId: parcel.view.shipmentId });
        } catch (error) {
          const refused = refusal(error);
          if (!refused) throw error;
          // No units to send: the escalation stays, with why, for another decision (wait for stock, refund).
          parcel.view.exceptionDetail = refused.message;
          return;
        }
        parcel.view.status = 'cancelled';
        delete parcel.view.attention;
        delete parcel.pickupDueAt;
        delete parcel.view.pickupDueAt;
        const next = addParcel(replacement);
        refreshStatus();
        await book(next);
        return;
      }
      case 'refund': {
        const refund = await partner.refundShipment({ orderId, shipmentId: parcel.view.shipmentId, reason: `parcel not delivered (${attention})` });
        parcel.view.status = 'cancelled';
        delete parcel.view.attention;
        delete parcel.pickupDueAt;
        delete parcel.view.pickupDueAt;
        parcel.view.refund = refund;
        refreshStatus();
        return;
      }
    }
  }

  // 1. Where the units are: one parcel per stock location.
  const plan = await store.planShipments({ orderId });
  for (const shipment of plan) addParcel(shipment);
  setStatus('in_progress');

  // 2. A label for every parcel; then the units leave the shelf (the reservation is committed as a whole).
  await Promise.all([...parcels.values()].map((parcel) => book(parcel)));
  await store.commitOrderStock({ orderId });

  // 3. Follow the parcels until each is delivered or settled by ops.
  while (![...parcels.values()].every(settled)) {
    const dues = [...parcels.values()].flatMap((p) => (p.pickupDueAt === undefined || p.view.attention ? [] : [p.pickupDueAt]));
    const nextDue = dues.length > 0 ? Math.min(...dues) : undefined;
    const woke = () => inbox.length > 0 || decisions.length > 0;
    if (nextDue === undefined) await condition(woke);
    else if (nextDue > now()) await condition(woke, nextDue - now());
    while (inbox.length > 0) await takeEvent(inbox.shift()!);
    while (decisions.length > 0) await decide(decisions.shift()!);
    for (const parcel of parcels.values()) {
      if (parcel.pickupDueAt !== undefined && parcel.pickupDueAt <= now() && !parcel.view.attention) await escalate(parcel, 'pickup_overdue');
    }
  }

  // 4. The order's end: completed with the return window when something arrived, cancelled when nothing did.
  const deliveries = [...parcels.values()].flatMap((p) => (p.view.status === 'delivered' && p.view.deliveredAt ? [Date.parse(p.view.deliveredAt)] : []));
  if (deliveries.length > 0) {
    const deliveredAt = Math.max(...deliveries);
    state.deliveredAt = iso(deliveredAt);
    state.returnWindowEndsAt = iso(deliveredAt + settings.returnWindowMs);
    await store.completeOrder({ orderId, deliveredAt: state.deliveredAt, returnWindowEndsAt: state.returnWindowEndsAt });
    setStatus('completed');
  } else {
    await store.cancelUndeliveredOrder({ orderId });
    setStatus('cancelled');
  }
  return state;
}

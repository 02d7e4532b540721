/**
 * The fulfilment workflow's contract: its id, input, the carrier-event signal the webhook route sends,
 * the ops decision signal and the state query. Importable by workflows and clients. Names here are stored
 * in workflow histories: never rename one once released.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import type { ShipmentAttention, ShipmentStatus } from '../../db/schema/fulfilment';

export type { CarrierTrackingEvent };

export const fulfilmentWorkflowType = 'fulfilment';
/** One per order; the carrier webhook finds it from the shipment's order. `prefix` is `config.TASK_QUEUE_PREFIX`. */
export const fulfilmentWorkflowId = (prefix: string, orderId: string): string => `${prefix}fulfilment-${orderId}`;

export interface FulfilmentSettings {
  /** A booked parcel not picked up within this is escalated to ops (default 48 h). */
  pickupSlaMs: number;
  /** The return window opened by the last delivery (default 30 days). */
  returnWindowMs: number;
}

export const defaultFulfilmentSettings: FulfilmentSettings = {
  pickupSlaMs: 48 * 3_600_000,
  returnWindowMs: 30 * 24 * 3_600_000,
};

export interface FulfilmentInput {
  orderId: string;
  accountId: string;
  /** `config.TASK_QUEUE_PREFIX`: the prefix of this workflow's id and of the payment workflow's (refunds). */
  workflowIdPrefix?: string;
  settings?: Partial<FulfilmentSettings>;
}

/**
 * What ops decide for a shipment that waits for a person (a missed pick-up, an exception, a refused
 * booking, a parcel returned to sender):
 * - `reship`: a new parcel with the same lines from the same location, booked with the carrier; the old
 *   one is cancelled. Units still on our shelf are reused; units the carrier holds are replaced from stock.
 * - `wait`: keep following the parcel (a missed pick-up gets another SLA period; an exception waits for
 *   the carrier's next event).
 * - `refund`: the parcel is given up: cancelled, its uncollected or returned units put back on hand, and
 *   what the customer paid for its lines refunded through the payment workflow (`refundPayment`).
 */
export const shipmentDecisions = ['reship', 'wait', 'refund'] as const;
export type ShipmentDecision = (typeof shipmentDecisions)[number];

export interface ResolveEscalation {
  shipmentId: string;
  decision: ShipmentDecision;
  /** Who decided (staff account id), for the workflow's record; the API's audit log has the rest. */
  actor?: string;
  note?: string;
}

export interface ShipmentView {
  shipmentId: string;
  fromLocation: string;
  attempt: number;
  replacesShipmentId?: string;
  lines: { sku: string; quantity: number }[];
  status: ShipmentStatus;
  attention?: ShipmentAttention;
  carrierShipmentId?: string;
  trackingNumber?: string;
  labelUrl?: string;
  /** Workflow time (ISO) the booking was confirmed; the pick-up SLA runs from here. */
  bookedAt?: string;
  /** When the pick-up SLA falls due (ISO), while it runs. */
  pickupDueAt?: string;
  deliveredAt?: string;
  /** The carrier's words on the last exception, or why a booking or a reship was refused. */
  exceptionDetail?: string;
  /** Set when ops refunded the parcel instead of delivering it. */
  refund?: { status: 'succeeded' | 'failed'; amount: number; failure?: string };
  decisions: { decision: ShipmentDecision; attention: ShipmentAttention; at: string; actor?: string; note?: string }[];
}

export type FulfilmentStatus = 'allocating' | 'in_progress' | 'escalated' | 'completed' | 'cancelled';

export interface FulfilmentState {
  orderId: string;
  status: FulfilmentStatus;
  shipments: ShipmentView[];
  /** Carrier events taken, each once: `applied` moved a parcel, the others were duplicates or stale. */
  events: { id: string; shipmentId?: string; type: string; occurredAt: string; applied: boolean; ignoredBecause?: string }[];
  deliveredAt?: string;
  returnWindowEndsAt?: string;
}

/** From the shipment webhook route (or the inbox sweeper): a carrier event for one of this order's parcels. */
export const carrierEventSignal = defineSignal<[CarrierTrackingEvent]>('carrierEvent');
/** From ops (`POST /v1/admin/orders/{id}/shipments/{shipmentId}/decision`): the answer to an escalation. */
export const resolveEscalationSignal = defineSignal<[ResolveEscalation]>('resolveEscalation');
export const fulfilmentStateQuery = defineQuery<FulfilmentState>('fulfilmentState');

/** `FulfilmentStatus = "ESCALATED"` lists the orders whose parcels wait for ops (Web UI, `temporal workflow list`). */
export const fulfilmentSearchAttributes = {
  fulfilmentStatus: defineSearchAttributeKey('FulfilmentStatus', SearchAttributeType.KEYWORD),
  orderId: defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
};

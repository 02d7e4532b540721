/**
 * The `returnAndRefund` workflow's contract, shared by the workflow, the returns API (customer and ops
 * routes), the carrier webhook route (a return parcel's tracking events) and ops tooling. Names here are
 * stored in workflow histories: never rename one once released.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import { finalReturnStatuses, returnStatuses, voidReturnStatuses, type ReturnStatus } from '../../returns/statuses';

export type { CarrierTrackingEvent };

export const returnWorkflowType = 'returnAndRefund';

/** One workflow per return: a duplicate start is refused by Temporal itself, and a carrier event finds it from the return id it carries (`data.reference`). */
export const returnWorkflowId = (prefix: string, returnId: string): string => `${prefix}return-${returnId}`;

/** The refund a return makes: one per return, so a retried step, a replayed update or a second request never refunds twice. */
export const returnRefundId = (returnId: string): string => `return-${returnId}`;

/** How long a booked return label waits for its parcel before the return expires. */
export const defaultParcelWaitMs = 30 * 24 * 3_600_000;

export interface ReturnLineRequest {
  sku: string;
  quantity: number;
}

export interface ReturnWorkflowInput {
  returnId: string;
  orderId: string;
  /** The customer's account: notifications go to it. */
  accountId: string;
  /** What the customer sends back, as accepted by `POST /v1/orders/:id/returns`. */
  lines: ReturnLineRequest[];
  /** Tests and ops only; defaults to `defaultParcelWaitMs`. */
  parcelWaitMs?: number;
}

export { finalReturnStatuses, returnStatuses, voidReturnStatuses, type ReturnStatus };

// ---- Commands to the return workflow --------------------------------------------------------------

/**
 * From the carrier webhook route (`POST /v1/webhooks/shipments`, `data.kind: 'return'`): a tracking event
 * of the return parcel. Only `delivered` moves the return (the parcel reached the warehouse); the others
 * are kept for the record. Duplicates by event id are ignored; so are events for another return.
 */
export const returnParcelEventSignal = defineSignal<[CarrierTrackingEvent]>('returnParcelEvent');

/** From ops (`POST /v1/admin/returns/:id/receipt`): the parcel arrived, whatever the carrier says. Repeats are harmless. */
export interface ReturnReceivedCommand {
  /** Free text from the warehouse; never personal data. */
  note?: string;
}
export const returnReceivedSignal = defineSignal<[ReturnReceivedCommand?]>('returnReceived');

export interface InspectedLine {
  sku: string;
  /** Units fit to sell again: restocked and refunded. */
  accepted: number;
  /** Units refused (damaged, worn, not ours): neither restocked nor refunded. */
  rejected: number;
}

/**
 * From ops (`POST /v1/admin/returns/:id/inspection`): per returned line, how many units were accepted
 * and rejected (accepted + rejected = the quantity returned). The route checks it against the return
 * first; the workflow keeps the first decision that fits its lines and ignores anything else.
 */
export interface InspectionDecision {
  lines: InspectedLine[];
  note?: string;
}
export const inspectionDecisionSignal = defineSignal<[InspectionDecision]>('inspectionDecision');

// ---- State ------------------------------------------------------------------------------------------

export interface ReturnState {
  returnId: string;
  orderId: string;
  status: ReturnStatus;
  /** Why the return ended where it did (expired, refused label, refused refund). */
  reason: string | null;
  carrierShipmentId: string | null;
  trackingNumber: string | null;
  /** Tracking events of the return parcel, each once, in arrival order. */
  parcelEvents: { id: string; type: CarrierTrackingEvent['type']; occurredAt: string }[];
  receivedVia: 'carrier' | 'ops' | null;
  inspection: InspectionDecision | null;
  /** Set once the refund was asked of the payment workflow. */
  refund: { refundId: string; amount: number; status: 'pending' | 'succeeded' | 'failed'; failure?: string } | null;
}

export const returnStateQuery = defineQuery<ReturnState>('returnState');

/** The workflow's result once it finishes. */
export type ReturnOutcome = Pick<ReturnState, 'returnId' | 'orderId' | 'status' | 'reason' | 'refund'>;

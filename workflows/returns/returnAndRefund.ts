import { ActivityFailure, ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReturnActivities } from '../../activities/returns/index';
import { activityPresets } from '../activity-presets';
import {
  defaultParcelWaitMs,
  inspectionDecisionSignal,
  returnParcelEventSignal,
  returnReceivedSignal,
  returnRefundId,
  returnStateQuery,
  type ReturnOutcome,
  type ReturnState,
  type ReturnWorkflowInput,
} from './definitions';
import { acceptInspection, applyParcelEvent, applyReceipt } from './state';

const books = proxyActivities<ReturnActivities>(activityPresets.databaseWrite);
// The carrier may be down for a while: the label is retried with its idempotency key until it answers; only a refusal ends it.
const carrier = proxyActivities<ReturnActivities>({
  ...activityPresets.partnerCall,
  retry: { ...activityPresets.partnerCall.retry, nonRetryableErrorTypes: ['CarrierRejection', 'NoAddress', 'ReturnNotFound', 'ReturnClosed', 'OrderNotFound'] },
});
// The refund waits on the payment workflow, which itself waits on the provider: a longer bound per attempt, the same refund id on every retry.
const payments = proxyActivities<ReturnActivities>({ ...activityPresets.partnerCall, startToCloseTimeout: '2m' });

/**
 * One return of a delivered order (`return-<returnId>`), started by `POST /v1/orders/:id/returns`:
 *
 * 1. Book the return label with the carrier and authorise the return (the customer is told).
 * 2. Wait for the parcel: the carrier's `delivered` event for it (signal `returnParcelEvent`, from the
 *    carrier webhook) or an ops receipt (signal `returnReceived`); none within `parcelWaitMs` → expired.
 * 3. Wait for the ops inspection decision (signal `inspectionDecision`): accepted and rejected units per line.
 * 4. Restock the accepted units, once per line.
 * 5. Refund the accepted lines through the payment workflow (refund id `return-<returnId>`; it never
 *    refunds more than was captured and issues the credit note); the customer is told.
 *
 * Signals may arrive early, late or twice: each is kept once and read only by the step that waits for it.
 */
export async function returnAndRefund(input: ReturnWorkflowInput): Promise<ReturnOutcome> {
  const state: ReturnState = {
    returnId: input.returnId,
    orderId: input.orderId,
    status: 'requested',
    reason: null,
    carrierShipmentId: null,
    trackingNumber: null,
    parcelEvents: [],
    receivedVia: null,
    inspection: null,
    refund: null,
  };

  setHandler(returnStateQuery, () => state);
  setHandler(returnParcelEventSignal, (event) => {
    const ignored = applyParcelEvent(state, event);
    if (ignored) log.warn('return parcel event ignored', { eventId: event?.id, why: ignored });
  });
  setHandler(returnReceivedSignal, () => applyReceipt(state, 'ops'));
  setHandler(inspectionDecisionSignal, (decision) => {
    const ignored = acceptInspection(state, input.lines, decision);
    if (ignored) log.warn('inspection decision ignored', { why: ignored });
  });

  const outcome = (): ReturnOutcome => ({ returnId: state.returnId, orderId: state.orderId, status: state.status, reason: state.reason, refund: state.refund });

  // ---- 1. Authorisation and label -------------------------------------------------------------------
  const parcelWaitMs = input.parcelWaitMs ?? defaultParcelWaitMs;
  try {
    const booking = await carrier.bookReturnLabel({ returnId: input.returnId, returnBy: new Date(Date.now() + parcelWaitMs).toISOString() });
    state.carrierShipmentId = booking.carrierShipmentId;
    state.trackingNumber = booking.trackingNumber;
    state.status = 'authorised';
  } catch (error) {
    const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
    if (!cause?.type || !['CarrierRejection', 'NoAddress'].includes(cause.type)) throw error;
    state.reason = `no return label: ${cause.message}`.slice(0, 300);
    await books.closeReturn({ returnId: input.returnId, status: 'cancelled', reason: state.reason });
    state.status = 'cancelled';
    return outcome();
  }

  // ---- 2. The parcel comes back ---------------------------------------------------------------------
  const arrived = await condition(() => state.receivedVia !== null, parcelWaitMs);
  if (!arrived) {
    state.reason = 'no parcel came back before the return label expired';
    await books.closeReturn({ returnId: input.returnId, status: 'expired', reason: state.reason });
    state.status = 'expired';
    return outcome();
  }
  await books.recordReturnReceived({ returnId: input.returnId, via: state.receivedVia! });
  state.status = 'received';

  // ---- 3. Inspection ----------------------------------------------------------------------------------
  await condition(() => state.inspection !== null);
  const inspected = await books.recordInspection({ returnId: input.returnId, decision: state.inspection! });
  state.status = inspected.status;

  // ---- 4. Restock -------------------------------------------------------------------------------------
  if (inspected.accepted.length > 0) await books.restockReturn({ returnId: input.returnId });

  // ---- 5. Refund --------------------------------------------------------------------------------------
  if (inspected.status !== 'inspected' || inspected.refundAmount <= 0) return outcome();
  state.refund = { refundId: returnRefundId(input.returnId), amount: inspected.refundAmount, status: 'pending' };
  const refunded = await payments.refundReturn({ returnId: input.returnId });
  state.refund = { ...state.refund, status: refunded.status, ...(refunded.failure ? { failure: refunded.failure } : {}) };
  state.status = refunded.status === 'succeeded' ? 'refunded' : 'refund_failed';
  if (refunded.failure) state.reason = refunded.failure;
  return outcome();
}

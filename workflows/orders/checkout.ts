import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderStatus } from '../../db/schema/orders';
import type { CheckoutActivities } from '../../activities/orders/checkout';
import type { ReservationActivities } from '../../activities/inventory/reservations';
import { activityPresets } from '../activity-presets';
import {
  cancelOrderUpdate,
  checkoutStateQuery,
  defaultCheckoutSettings,
  fraudDecisionSignal,
  placeOrderUpdate,
  searchAttributeKeys,
  type CheckoutInput,
  type CheckoutState,
  type PlaceOrderRequest,
  type PlaceOrderResult,
} from './definitions';

const orders = proxyActivities<CheckoutActivities>(activityPresets.databaseWrite);
const inventory = proxyActivities<ReservationActivities>(activityPresets.databaseWrite);

// The payment workflow's contract (workflows/payments/definitions.ts), by name: it tells us, we command it.
const paymentAuthorised = defineSignal<[{ orderId: string }]>('paymentAuthorised');
const paymentActionRequired = defineSignal<[{ orderId: string; actionUrl: string }]>('paymentActionRequired');
const paymentFailed = defineSignal<[{ orderId: string; reason: string; stage: string }]>('paymentFailed');
const paymentCaptured = defineSignal<[{ orderId: string }]>('paymentCaptured');
const paymentCancelled = defineSignal<[{ orderId: string; action: string }]>('paymentCancelled');
const capturePayment = defineSignal<[Record<string, never>]>('capturePayment');
const cancelPayment = defineSignal<[{ reason: string }]>('cancelPayment');

type PaymentPhase = 'none' | 'action_required' | 'authorised' | 'captured' | 'failed' | 'cancelled';

const terminal = (status: OrderStatus) => status === 'CONFIRMED' || status === 'CANCELLED' || status === 'FAILED';

const destinationOf = (order: PlaceOrderRequest): string => order.shippingCountry ?? order.shippingAddress?.country ?? '';

/** A business refusal the saga records as the order's reason, rather than a bug to retry. */
class OrderEnded extends Error {
  constructor(
    readonly status: 'CANCELLED' | 'FAILED',
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * One checkout per cart (`checkout-<cartId>`), started by `POST /v1/checkout` with Update-with-Start.
 * The `placeOrder` update prices the cart, reserves the stock, creates the order and starts the payment,
 * then answers the shopper; the workflow goes on with the rest: the payment's confirmation, the fraud
 * rule, the capture, the confirmation and the hand-over. Whatever fails, the compensations registered
 * so far run in reverse and the order ends CANCELLED or FAILED with its reason.
 */
export async function checkout(input: CheckoutInput): Promise<CheckoutState> {
  const settings = { ...defaultCheckoutSettings, ...input.settings };
  const state: CheckoutState = { status: 'PENDING', history: [] };
  /** The last status written to the order's row: an update that answers "it is cancelled" waits for this, so a read that follows sees it. */
  let recordedStatus: OrderStatus | undefined;
  const payment: { phase: PaymentPhase; reason?: string; actionUrl?: string } = { phase: 'none' };
  let placing: Promise<PlaceOrderResult> | undefined;
  let request: PlaceOrderRequest | undefined;
  let totalAmount = 0;
  let cancelRequested: string | undefined;
  let fraudDecision: 'approve' | 'reject' | undefined;
  const compensations: { name: string; run: () => Promise<void> }[] = [];

  async function setStatus(status: OrderStatus, reason?: string): Promise<void> {
    if (state.status === status && state.reason === reason) return;
    state.status = status;
    state.reason = reason;
    state.history.push({ status, reason, at: new Date().toISOString() });
    upsertSearchAttributes([{ key: searchAttributeKeys.orderStatus, value: status }]);
    if (state.orderId) await orders.recordOrderStatus({ orderId: state.orderId, status, reason });
    recordedStatus = status;
  }

  setHandler(checkoutStateQuery, () => state);
  // Signals may arrive twice or late: each only moves the payment forward, never back.
  setHandler(paymentAuthorised, () => {
    if (payment.phase === 'none' || payment.phase === 'action_required') payment.phase = 'authorised';
  });
  setHandler(paymentActionRequired, ({ actionUrl }) => {
    if (payment.phase === 'none') {
      payment.phase = 'action_required';
      payment.actionUrl = actionUrl;
    }
  });
  setHandler(paymentFailed, ({ reason }) => {
    if (payment.phase !== 'captured' && payment.phase !== 'cancelled') {
      payment.phase = 'failed';
      payment.reason = reason;
    }
  });
  setHandler(paymentCaptured, () => {
    payment.phase = 'captured';
  });
  setHandler(paymentCancelled, () => {
    if (payment.phase !== 'captured') payment.phase = 'cancelled';
  });
  setHandler(fraudDecisionSignal, ({ decision }) => {
    fraudDecision ??= decision;
  });

  setHandler(
    placeOrderUpdate,
    async (order) => {
      // Posting the same checkout again (a retry, a double click, 20 concurrent posts) joins the first placement.
      placing ??= placeOrder(order);
      return placing;
    },
    {
      validator: (_order) => {
        if (placing === undefined && terminal(state.status)) throw new Error('this checkout has ended; post again to start a new one');
      },
    },
  );

  setHandler(
    cancelOrderUpdate,
    async ({ reason }) => {
      cancelRequested ??= reason ?? 'cancelled by the customer';
      await condition(() => terminal(state.status) && recordedStatus === state.status);
      return state;
    },
    {
      validator: (_cancel) => {
        if (payment.phase === 'captured' || state.status === 'PAID' || state.status === 'CONFIRMED') throw new Error('the payment is already captured: ask for a return instead');
        if (terminal(state.status)) throw new Error(`the order is already ${state.status}`);
      },
    },
  );

  /** Update handlers may only fail with an ApplicationFailure (anything else would retry the workflow task forever). */
  async function placeOrder(order: PlaceOrderRequest): Promise<PlaceOrderResult> {
    try {
      return await placeOrderSteps(order);
    } catch (error) {
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : error;
      if (cause instanceof ApplicationFailure) throw ApplicationFailure.create({ message: cause.message, type: cause.type ?? 'CheckoutFailed', details: cause.details ?? undefined, nonRetryable: true });
      throw ApplicationFailure.create({ message: error instanceof Error ? error.message : 'checkout failed', type: 'CheckoutFailed', nonRetryable: true });
    }
  }

  async function placeOrderSteps(order: PlaceOrderRequest): Promise<PlaceOrderResult> {
    request = order;
    // One run, one order: the run id is the order id (unique, and the same on every replay).
    const orderId = workflowInfo().runId;
    const shippingCountry = destinationOf(order);
    const priced = await orders.priceCheckout({ cartId: input.cartId, accountId: input.accountId, shippingMethod: order.shippingMethod, shippingCountry });
    totalAmount = priced.totalAmount;

    const reservation = await inventory.reserveInventory({ orderId, lines: priced.lines.map(({ sku, quantity }) => ({ sku, quantity })), ttlSeconds: settings.reservationTtlSeconds });
    if (reservation.state !== 'held') throw ApplicationFailure.nonRetryable(`the reservation is already ${reservation.state}`, 'ReservationLost');
    compensations.push({ name: 'release inventory', run: () => inventory.releaseInventory({ orderId, reason: `order ${state.status.toLowerCase()}` }).then(() => undefined) });

    await orders.createOrder({
      orderId,
      cartId: input.cartId,
      accountId: input.accountId,
      priced,
      shippingCountry,
      ...(order.shippingAddressSealed ? { shippingAddressSealed: order.shippingAddressSealed } : { shippingAddress: order.shippingAddress }),
      shippingMethod: order.shippingMethod,
      workflowId: workflowInfo().workflowId,
    });
    state.orderId = orderId;
    compensations.push({ name: 'give the lines back', run: () => orders.restoreCart({ cartId: input.cartId, orderId }).then(() => undefined) });
    upsertSearchAttributes([
      { key: searchAttributeKeys.orderId, value: orderId },
      { key: searchAttributeKeys.customerId, value: input.accountId },
      { key: searchAttributeKeys.orderTotal, value: priced.totalAmount },
    ]);
    await setStatus('PAYMENT_PENDING');

    await startChild('payment', {
      workflowId: `${input.workflowIdPrefix ?? ''}payment-${orderId}`,
      taskQueue: input.paymentTaskQueue,
      args: [{ orderId, amount: priced.totalAmount, currency: priced.currency, paymentToken: order.paymentToken, parentWorkflowId: workflowInfo().workflowId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    compensations.push({ name: 'cancel the payment', run: () => cancelThePayment(orderId) });

    // The shopper waits for the authorisation's first answer, briefly: a slow provider answers PAYMENT_PENDING and the order page follows.
    await condition(() => payment.phase !== 'none', '5 seconds');
    if (payment.phase === 'action_required') await setStatus('AWAITING_CONFIRMATION');
    return {
      orderId,
      status: payment.phase === 'failed' ? 'FAILED' : state.status,
      ...(payment.phase === 'failed' ? { reason: payment.reason } : {}),
      totalAmount: priced.totalAmount,
      currency: priced.currency,
      ...(payment.phase === 'action_required' && payment.actionUrl ? { nextAction: { type: 'redirect_to_confirm' as const, url: payment.actionUrl } } : {}),
    };
  }

  async function cancelThePayment(orderId: string): Promise<void> {
    if (payment.phase === 'cancelled' || payment.phase === 'failed') return;
    await getExternalWorkflowHandle(`${input.workflowIdPrefix ?? ''}payment-${orderId}`).signal(cancelPayment, { reason: state.reason ?? 'order ended' });
    if (!(await condition(() => payment.phase === 'cancelled' || payment.phase === 'failed', settings.paymentStepTimeoutMs))) {
      throw ApplicationFailure.nonRetryable('the payment did not confirm its cancellation in time', 'PaymentCancellationTimeout');
    }
  }

  /** Waits for `ready`, a cancellation by the customer, or the timeout; throws OrderEnded on the latter two. */
  async function waitFor(ready: () => boolean, timeoutMs: number, onTimeout: OrderEnded): Promise<void> {
    const happened = await condition(() => ready() || cancelRequested !== undefined || payment.phase === 'failed', timeoutMs);
    if (cancelRequested !== undefined) throw new OrderEnded('CANCELLED', cancelRequested);
    if (payment.phase === 'failed') throw new OrderEnded('FAILED', `payment ${payment.reason ?? 'failed'}`);
    if (!happened) throw onTimeout;
  }

  // A cart nobody checks out within a day leaves nothing behind: this run simply ends.
  if (!(await condition(() => placing !== undefined, '1 day'))) return state;

  try {
    try {
      await placing;
    } catch (error) {
      // Refused before anything was reserved or created (empty cart, no stock): the update told the shopper why.
      throw new OrderEnded('FAILED', error instanceof Error ? error.message : 'checkout refused');
    }
    await waitFor(() => payment.phase === 'authorised' || payment.phase === 'action_required', settings.paymentStepTimeoutMs, new OrderEnded('FAILED', 'payment did not answer'));
    if (payment.phase === 'action_required') {
      await setStatus('AWAITING_CONFIRMATION');
      // The payment workflow gives the shopper 15 minutes to confirm and reports a timeout as a failure.
      await waitFor(() => payment.phase === 'authorised', settings.paymentStepTimeoutMs, new OrderEnded('FAILED', 'payment confirmation never came'));
    }

    const countriesDiffer = request?.billingCountry !== undefined && request.billingCountry !== destinationOf(request);
    if (totalAmount >= settings.fraudReviewThreshold || countriesDiffer) {
      // The units stay held for as long as a human may take to decide, not just the checkout's usual hold.
      await inventory.extendInventoryReservation({ orderId: state.orderId!, until: new Date(Date.now() + settings.fraudReviewTimeoutMs + settings.reservationTtlSeconds * 1000).toISOString() });
      await setStatus('FRAUD_REVIEW', countriesDiffer ? 'billing and shipping countries differ' : 'order total above the review threshold');
      await waitFor(() => fraudDecision !== undefined, settings.fraudReviewTimeoutMs, new OrderEnded('CANCELLED', 'fraud review not decided within 24 hours'));
      if (fraudDecision === 'reject') throw new OrderEnded('CANCELLED', 'rejected by fraud review');
    }

    await getExternalWorkflowHandle(`${input.workflowIdPrefix ?? ''}payment-${state.orderId}`).signal(capturePayment, {});
    await waitFor(() => payment.phase === 'captured', settings.paymentStepTimeoutMs, new OrderEnded('FAILED', 'capture did not complete'));
    // Captured: from here on the order is paid and only a return can undo it.
    compensations.length = 0;
    // Paid units are held until fulfilment ships them (and commits the reservation).
    await inventory.extendInventoryReservation({ orderId: state.orderId!, until: new Date(Date.now() + settings.paidHoldMs).toISOString() });
    await setStatus('PAID');
    if (patched('fulfilment-child')) {
      // Confirmed first, then handed over: the fulfilment child writes SHIPPED and COMPLETED only after
      // CONFIRMED, so a fast first pick-up is never overwritten by this workflow's CONFIRMED.
      await setStatus('CONFIRMED', 'handed over to fulfilment');
      // The child outlives this workflow (ABANDON): the parcels are followed for days after the checkout ends.
      const prefix = input.workflowIdPrefix ?? '';
      await startChild('fulfilment', {
        workflowId: `${prefix}fulfilment-${state.orderId}`,
        taskQueue: input.fulfilmentTaskQueue ?? `${prefix}fulfilment`,
        args: [{ orderId: state.orderId!, accountId: input.accountId, workflowIdPrefix: prefix }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } else {
      await orders.handOverToFulfilment({ orderId: state.orderId! });
      await setStatus('CONFIRMED', 'handed over to fulfilment');
    }
    await orders.notifyOrderConfirmed({ orderId: state.orderId! });
    return state;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const ended = error instanceof OrderEnded ? error : new OrderEnded('FAILED', error instanceof Error ? error.message : 'checkout failed');
    state.reason = ended.reason;
    // Each compensation is idempotent and retried by its activity; one that still fails is recorded and
    // the others run anyway, so the reconciliation finds a FAILED order with the step that needs a human.
    const unfinished: string[] = [];
    for (const compensation of compensations.reverse()) {
      try {
        await compensation.run();
      } catch (failure) {
        if (isCancellation(failure)) throw failure;
        unfinished.push(compensation.name);
      }
    }
    if (unfinished.length > 0) await setStatus('FAILED', `${ended.reason}; compensation incomplete: ${unfinished.join(', ')}`);
    else await setStatus(ended.status, ended.reason);
    return state;
  }
}

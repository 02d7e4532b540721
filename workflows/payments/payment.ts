import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/payments/payments';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { activityPresets } from '../activity-presets';
import {
  cancelPaymentSignal,
  capturePaymentSignal,
  defaultAuthoriseWithinMs,
  defaultCaptureWindowMs,
  defaultConfirmationTimeoutMs,
  defaultRefundWindowMs,
  paymentActionRequiredSignal,
  paymentAuthorisedSignal,
  paymentCancelledSignal,
  paymentCapturedSignal,
  paymentFailedSignal,
  paymentStateQuery,
  providerEventSignal,
  refundPaymentUpdate,
  type PaymentCancelledAction,
  type PaymentFailureStage,
  type PaymentOutcome,
  type PaymentRefundState,
  type PaymentState,
  type PaymentWorkflowInput,
  type RefundPaymentRequest,
  type RefundPaymentResult,
} from './definitions';

// Capture, void and refund give money its due: retried with their idempotency key until the provider
// answers, however long an outage lasts; only a rejection ends them.
const provider = proxyActivities<PaymentActivities>({
  ...activityPresets.partnerCall,
  retry: { ...activityPresets.partnerCall.retry, nonRetryableErrorTypes: ['PaymentProviderRejection', 'RefundExceedsCaptured', 'RefundMismatch', 'PaymentNotFound'] },
});
const books = proxyActivities<PaymentActivities>(activityPresets.databaseWrite);

const refundIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;
const cancelRefundId = 'cancel';

/**
 * One payment of one order (`payment-<orderId>`), from authorisation to the end of its refund window.
 *
 * 1. Authorise (key `<workflowId>:authorise`), retrying an unreachable provider for `authoriseWithinMs`,
 *    then `paymentFailed` `provider_unavailable`. A 3-D Secure card waits for the provider's
 *    `payment.authorised` / `payment.declined` event (signal `providerEvent`, from the webhook route) up
 *    to `confirmationTimeoutMs`, then is voided and fails `confirmation_timeout`.
 * 2. Authorised: waits for `capturePayment` (→ capture once, `paymentCaptured`) or `cancelPayment`
 *    (→ void, `paymentCancelled` voided).
 * 3. Captured: accepts `refundPayment` updates (never more than captured, even concurrently) and
 *    `cancelPayment` (→ refund the rest, `paymentCancelled` refunded) until the refund window ends or
 *    everything is refunded, continuing as new when Temporal suggests it.
 *
 * Provider events are de-duplicated by id and only the ones the current step waits for matter: a
 * duplicate, a late echo or an event out of order is recorded in `eventsSeen` and changes nothing.
 */
export async function payment(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  const { workflowId } = workflowInfo();
  const key = (step: string) => `${workflowId}:${step}`;
  const state: PaymentState = input.resumeFrom
    ? { ...input.resumeFrom, runs: input.resumeFrom.runs + 1 }
    : {
        orderId: input.orderId,
        amount: input.amount,
        currency: input.currency,
        status: 'authorising',
        providerPaymentId: null,
        actionUrl: null,
        authorised: 0,
        captured: 0,
        refunded: 0,
        refunds: [],
        failure: null,
        captureRequested: false,
        cancel: null,
        eventsSeen: [],
        captureBy: null,
        refundUntil: null,
        runs: 1,
      };
  const seen = new Set(state.eventsSeen.map((event) => event.id));
  /** Events not yet looked at by the step that waits for them (only the confirmation step does). */
  const unread: PaymentWebhookEvent[] = [];

  setHandler(paymentStateQuery, () => state);

  setHandler(providerEventSignal, (event) => {
    if (!event || typeof event.id !== 'string' || seen.has(event.id)) return;
    if (event.data?.orderId !== state.orderId) {
      log.warn('provider event for another order ignored', { eventId: event.id, type: event.type });
      return;
    }
    seen.add(event.id);
    state.eventsSeen.push({ id: event.id, type: event.type });
    // Only the confirmation step reads events; later ones are echoes of what this workflow did itself.
    if (state.status === 'authorising' || state.status === 'requires_action') unread.push(event);
  });

  setHandler(capturePaymentSignal, () => {
    state.captureRequested = true;
  });

  setHandler(cancelPaymentSignal, (command) => {
    state.cancel ??= { reason: typeof command?.reason === 'string' ? command.reason : 'unspecified' };
  });

  const refundable = () => state.captured - state.refunded - pendingRefunds();
  const pendingRefunds = () => state.refunds.filter((r) => r.status === 'pending').reduce((sum, r) => sum + r.amount, 0);
  const resultOf = (refund: PaymentRefundState): RefundPaymentResult => ({
    refundId: refund.refundId,
    amount: refund.amount,
    status: refund.status === 'succeeded' ? 'succeeded' : 'failed',
    ...(refund.failure ? { failure: refund.failure } : {}),
  });

  setHandler(
    refundPaymentUpdate,
    async (request: RefundPaymentRequest): Promise<RefundPaymentResult> => {
      const known = state.refunds.find((r) => r.refundId === request.refundId);
      if (known) {
        await condition(() => known.status !== 'pending');
        return resultOf(known);
      }
      // Claimed before the first await: the validator of the next update, in this same activation, sees it.
      const refund: PaymentRefundState = { refundId: request.refundId, amount: request.amount, reason: request.reason, status: 'pending' };
      state.refunds.push(refund);
      try {
        // Same activity, same place: only its input grew (refund id and lines, for the credit note), so no command changes.
        await provider.refundPayment({
          orderId: state.orderId,
          providerPaymentId: state.providerPaymentId!,
          amount: request.amount,
          currency: state.currency,
          reason: request.reason,
          idempotencyKey: key(`refund:${request.refundId}`),
          refundId: request.refundId,
          ...(request.lines?.length ? { lines: request.lines.map(({ sku, quantity }) => ({ sku, quantity })) } : {}),
        });
        refund.status = 'succeeded';
        state.refunded += request.amount;
      } catch (error) {
        refund.status = 'failed';
        refund.failure = failureCode(error);
        log.warn('refund failed', { refundId: request.refundId, failure: refund.failure });
      }
      return resultOf(refund);
    },
    {
      validator: (request: RefundPaymentRequest) => {
        if (!request || typeof request.refundId !== 'string' || !refundIdPattern.test(request.refundId)) {
          throw new Error('refundId must be 1..100 letters, digits or ._:-');
        }
        // Its key (`<workflowId>:refund:cancel`) belongs to the refund a cancellation makes.
        if (request.refundId === cancelRefundId) throw new Error(`refundId "${cancelRefundId}" is reserved`);
        if (!Number.isSafeInteger(request.amount) || request.amount <= 0) throw new Error('amount must be a positive integer (minor units)');
        if (request.lines !== undefined) validateRefundLines(request.lines);
        const known = state.refunds.find((r) => r.refundId === request.refundId);
        if (known) {
          if (known.amount !== request.amount) throw new Error(`refund ${request.refundId} was requested before for ${known.amount}`);
          return;
        }
        if (state.status !== 'captured') throw new Error(`nothing to refund: the payment is ${state.status}`);
        if (state.cancel) throw new Error('the payment is being cancelled: it is refunded in full');
        if (request.amount > refundable()) throw new Error(`amount exceeds what is still refundable (${refundable()})`);
      },
    },
  );

  const tellParent = async <T>(signal: SignalDefinition<[T]>, payload: T) => {
    if (!input.parentWorkflowId) return;
    try {
      await getExternalWorkflowHandle(input.parentWorkflowId).signal(signal, payload);
    } catch (error) {
      // The parent may have finished (a refund weeks after checkout): the state is in the query anyway.
      log.warn('could not signal the parent workflow', { signal: signal.name, error: String(error) });
    }
  };

  const fail = async (stage: PaymentFailureStage, reason: string, detail?: string): Promise<PaymentOutcome> => {
    state.status = 'failed';
    state.failure = { reason, stage, ...(detail ? { detail } : {}) };
    await tellParent(paymentFailedSignal, { orderId: state.orderId, reason, stage });
    // A parent that asked to cancel hears back about its cancel too: nothing was left to give back.
    if (state.cancel) return cancelled('none');
    return finish();
  };

  const cancelled = async (action: PaymentCancelledAction): Promise<PaymentOutcome> => {
    state.cancel = { reason: state.cancel?.reason ?? 'unspecified', action };
    await tellParent(paymentCancelledSignal, { orderId: state.orderId, action });
    return finish();
  };

  const finish = async (): Promise<PaymentOutcome> => {
    await condition(allHandlersFinished);
    return { orderId: state.orderId, status: state.status, authorised: state.authorised, captured: state.captured, refunded: state.refunded, failure: state.failure };
  };

  /** Releases the hold; `failureReason` when it cleans up after a failure. */
  const voidHold = async (activities: PaymentActivities, failureReason?: string) => {
    await activities.voidPayment({ orderId: state.orderId, providerPaymentId: state.providerPaymentId, idempotencyKey: key('void'), ...(failureReason ? { failureReason } : {}) });
    if (!failureReason) state.status = 'voided';
  };

  const authorised = async () => {
    state.status = 'authorised';
    state.authorised = state.amount;
    state.captureBy = Date.now() + (input.captureWindowMs ?? defaultCaptureWindowMs);
    await tellParent(paymentAuthorisedSignal, { orderId: state.orderId });
  };

  // ---- 1. Authorisation ---------------------------------------------------------------------------
  if (!input.resumeFrom) {
    const authoriseWithinMs = input.authoriseWithinMs ?? defaultAuthoriseWithinMs;
    // Authorising is bounded: a shopper is waiting, and past this the checkout compensates with a clear reason.
    const authorising = proxyActivities<PaymentActivities>({
      ...activityPresets.partnerCall,
      scheduleToCloseTimeout: authoriseWithinMs,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['PaymentProviderRejection'] },
    });
    let result: Awaited<ReturnType<PaymentActivities['authorisePayment']>>;
    try {
      result = await authorising.authorisePayment({
        orderId: state.orderId,
        amount: state.amount,
        currency: state.currency,
        paymentToken: input.paymentToken,
        idempotencyKey: key('authorise'),
      });
    } catch (error) {
      const reason = failureReason(error);
      await books.recordPaymentFailure({ orderId: state.orderId, reason });
      return fail('authorise', reason, failureDetail(error));
    }
    state.providerPaymentId = result.providerPaymentId ?? null;

    if (result.status === 'declined') return fail('authorise', result.reason);

    if (result.status === 'authorised') {
      await authorised();
    } else {
      state.status = 'requires_action';
      state.actionUrl = result.actionUrl;
      await tellParent(paymentActionRequiredSignal, { orderId: state.orderId, actionUrl: result.actionUrl });
      const outcome = () => unread.find((e) => e.data.providerPaymentId === state.providerPaymentId && ['payment.authorised', 'payment.declined', 'payment.voided'].includes(e.type));
      const decided = await condition(() => outcome() !== undefined || state.cancel !== null, input.confirmationTimeoutMs ?? defaultConfirmationTimeoutMs);
      const event = outcome();
      if (!decided) {
        // Best effort: the shopper never confirmed, so there is usually nothing held; bounded like authorising.
        const cleanup = proxyActivities<PaymentActivities>({ ...activityPresets.partnerCall, scheduleToCloseTimeout: authoriseWithinMs });
        try {
          await voidHold(cleanup, 'confirmation_timeout');
        } catch (error) {
          log.warn('void after confirmation timeout failed', { error: failureDetail(error) });
          await books.recordPaymentFailure({ orderId: state.orderId, reason: 'confirmation_timeout' });
        }
        return fail('confirmation', 'confirmation_timeout');
      }
      if (event?.type === 'payment.authorised') {
        await books.confirmAuthorisation({
          orderId: state.orderId,
          providerPaymentId: state.providerPaymentId!,
          amount: state.amount,
          currency: state.currency,
          idempotencyKey: key('authorise'),
        });
        await authorised();
      } else if (event) {
        const reason = event.type === 'payment.declined' ? (event.data.reason ?? 'authentication_failed') : 'voided_at_provider';
        await books.recordPaymentFailure({ orderId: state.orderId, reason, providerPaymentId: state.providerPaymentId });
        return fail('confirmation', reason);
      } else {
        // Cancelled while the shopper was confirming: abandon the pending authorisation.
        await voidHold(provider);
        return cancelled('voided');
      }
    }
  }

  // ---- 2. Authorised: capture or cancel ------------------------------------------------------------
  while (state.status === 'authorised') {
    const waitMs = Math.max(1, (state.captureBy ?? Date.now()) - Date.now());
    const woke = await condition(() => state.cancel !== null || state.captureRequested || workflowInfo().continueAsNewSuggested, waitMs);
    if (state.cancel) {
      await voidHold(provider);
      return cancelled('voided');
    }
    if (state.captureRequested) {
      try {
        await provider.capturePayment({
          orderId: state.orderId,
          providerPaymentId: state.providerPaymentId!,
          amount: state.amount,
          currency: state.currency,
          idempotencyKey: key('capture'),
        });
      } catch (error) {
        // The provider refused (the authorisation lapsed, …): release what may still be held, and say so.
        const reason = failureReason(error);
        try {
          await voidHold(provider, reason);
        } catch (voidError) {
          log.warn('void after a refused capture failed', { error: failureDetail(voidError) });
          await books.recordPaymentFailure({ orderId: state.orderId, reason });
        }
        return fail('capture', reason, failureDetail(error));
      }
      state.status = 'captured';
      state.captured = state.amount;
      state.refundUntil = Date.now() + (input.refundWindowMs ?? defaultRefundWindowMs);
      await tellParent(paymentCapturedSignal, { orderId: state.orderId });
      break;
    }
    if (!woke) {
      // Nobody captured within the window: the card's hold would lapse anyway; release it cleanly.
      await voidHold(provider, 'authorisation_expired');
      return fail('capture', 'authorisation_expired');
    }
    await continueAsNewWith(input, state);
  }

  // ---- 3. Captured: refunds until the window ends --------------------------------------------------
  for (;;) {
    const fullyRefunded = () => state.refunded >= state.captured && pendingRefunds() === 0;
    const waitMs = Math.max(1, (state.refundUntil ?? Date.now()) - Date.now());
    const woke = await condition(() => state.cancel !== null || fullyRefunded() || workflowInfo().continueAsNewSuggested, waitMs);
    if (state.cancel) {
      await condition(() => pendingRefunds() === 0);
      const rest = state.captured - state.refunded;
      if (rest > 0) {
        const refund: PaymentRefundState = { refundId: cancelRefundId, amount: rest, reason: state.cancel.reason, status: 'pending' };
        state.refunds.push(refund);
        try {
          await provider.refundPayment({
            orderId: state.orderId,
            providerPaymentId: state.providerPaymentId!,
            amount: rest,
            currency: state.currency,
            reason: `cancel: ${state.cancel.reason}`.slice(0, 200),
            idempotencyKey: key(`refund:${cancelRefundId}`),
            refundId: cancelRefundId,
          });
        } catch (error) {
          // Refused for good: the money stays captured, and the parent and ops are told so.
          refund.status = 'failed';
          refund.failure = failureCode(error);
          state.cancel = null;
          return fail('capture', `refund_refused:${refund.failure}`, failureDetail(error));
        }
        refund.status = 'succeeded';
        state.refunded += rest;
      }
      state.status = 'refunded';
      return cancelled('refunded');
    }
    if (fullyRefunded()) {
      state.status = 'refunded';
      return finish();
    }
    if (!woke) {
      // The refund window is over; refunds still in flight finish first.
      await condition(() => pendingRefunds() === 0);
      return finish();
    }
    await continueAsNewWith(input, state);
  }
}

const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Lines of a refund: a short list of distinct SKUs with positive whole quantities (empty: as if none were given). */
function validateRefundLines(lines: unknown): void {
  if (!Array.isArray(lines) || lines.length > 100) throw new Error('lines must be a list of at most 100 {sku, quantity}');
  const skus = new Set<string>();
  lines.forEach((line: { sku?: unknown; quantity?: unknown } | null, index) => {
    if (!line || typeof line.sku !== 'string' || !skuPattern.test(line.sku)) throw new Error(`lines.${index}.sku must be a SKU`);
    if (!Number.isSafeInteger(line.quantity) || (line.quantity as number) <= 0 || (line.quantity as number) > 10_000) throw new Error(`lines.${index}.quantity must be a positive integer`);
    if (skus.has(line.sku)) throw new Error(`lines.${index}.sku ${line.sku} is listed twice`);
    skus.add(line.sku);
  });
}

async function continueAsNewWith(input: PaymentWorkflowInput, state: PaymentState): Promise<never> {
  await condition(allHandlersFinished);
  // The card token was needed for authorising only; it is not carried into the next run.
  return continueAsNew<typeof payment>({ ...input, paymentToken: '', resumeFrom: state });
}

function applicationCause(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return undefined;
}

/**
 * The reason a parent and ops read: the provider's code for a rejection; `provider_unavailable` when
 * the retries ran out of time (the provider unreachable, answering 5xx or too slowly all along).
 */
function failureReason(error: unknown): string {
  const cause = applicationCause(error);
  if (cause?.type === 'PaymentProviderRejection') return `provider_rejected:${(cause.details?.[0] as { code?: string } | undefined)?.code ?? 'unknown'}`;
  if (error instanceof ActivityFailure && error.cause instanceof TimeoutFailure) return 'provider_unavailable';
  return cause?.type === 'PaymentProviderUnavailable' ? 'provider_unavailable' : 'payment_error';
}

function failureCode(error: unknown): string {
  const cause = applicationCause(error);
  if (cause?.type === 'RefundExceedsCaptured') return 'refund_exceeds_captured';
  if (cause?.type === 'PaymentProviderRejection') return (cause.details?.[0] as { code?: string } | undefined)?.code ?? 'provider_rejected';
  return cause?.type ?? 'refund_failed';
}

/** The chain of failure messages, for ops: no secrets travel in them (the adapter's rule). */
function failureDetail(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = (e as Error & { cause?: unknown }).cause) parts.push(e.message);
  return parts.join(' ← ');
}

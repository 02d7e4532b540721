/**
 * The payment workflow's contract, shared by the workflow, its parent (the checkout saga), the webhook
 * route and ops tooling; importable from both sides. Names here are stored in workflow histories:
 * never rename one once released.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PaymentWebhookEvent } from '../../payments/provider';

export type { PaymentWebhookEvent };

export const paymentWorkflowType = 'payment';

/**
 * One payment workflow per order: a duplicate start is refused by Temporal itself, and a partner webhook
 * finds the workflow from the order id it carries. `prefix` is `config.TASK_QUEUE_PREFIX`.
 */
export const paymentWorkflowId = (prefix: string, orderId: string): string => `${prefix}payment-${orderId}`;

export const defaultConfirmationTimeoutMs = 15 * 60_000;
export const defaultAuthoriseWithinMs = 2 * 60_000;
export const defaultCaptureWindowMs = 7 * 24 * 3_600_000;
export const defaultRefundWindowMs = 180 * 24 * 3_600_000;

export interface PaymentWorkflowInput {
  orderId: string;
  /** Integer minor units. */
  amount: number;
  /** ISO 4217. */
  currency: string;
  /** The provider's opaque card token (`tok_…`); never a card number. */
  paymentToken: string;
  /** The checkout workflow to tell about each outcome (signals below); none → nobody is told, state is in the query. */
  parentWorkflowId?: string;
  /** How long a 3-D Secure confirmation may take before the payment is voided and fails (default 15 min). */
  confirmationTimeoutMs?: number;
  /** How long the provider may stay unreachable while authorising before the payment fails with `provider_unavailable` (default 2 min). */
  authoriseWithinMs?: number;
  /** How long an authorisation waits for `capturePayment` or `cancelPayment` before it is voided (default 7 days, about what card holds last). */
  captureWindowMs?: number;
  /** How long after capture refunds are still accepted; the workflow finishes then (default 180 days). */
  refundWindowMs?: number;
  /** Set by continue-as-new only: the state the previous run ended with. */
  resumeFrom?: PaymentState;
}

export type PaymentWorkflowStatus =
  | 'authorising'
  | 'requires_action'
  | 'authorised'
  | 'captured'
  /** Captured, then refunded in full. */
  | 'refunded'
  | 'voided'
  | 'failed';

export type PaymentFailureStage = 'authorise' | 'confirmation' | 'capture';

export interface PaymentRefundState {
  refundId: string;
  amount: number;
  reason: string;
  status: 'pending' | 'succeeded' | 'failed';
  failure?: string;
}

/** What `paymentState` answers; also the continue-as-new carry-over. Amounts are minor units of `currency`. */
export interface PaymentState {
  orderId: string;
  amount: number;
  currency: string;
  status: PaymentWorkflowStatus;
  providerPaymentId: string | null;
  actionUrl: string | null;
  authorised: number;
  captured: number;
  /** Refunds that succeeded. */
  refunded: number;
  refunds: PaymentRefundState[];
  failure: { reason: string; stage: PaymentFailureStage; detail?: string } | null;
  captureRequested: boolean;
  cancel: { reason: string; action?: PaymentCancelledAction } | null;
  /** Provider events received, each once, in arrival order. */
  eventsSeen: { id: string; type: PaymentWebhookEvent['type'] }[];
  /** Epoch ms; set once authorised / captured. */
  captureBy: number | null;
  refundUntil: number | null;
  runs: number;
}

// ---- Commands to the payment workflow ------------------------------------------------------------

/** From the webhook route (or the inbox sweeper): the provider's asynchronous news. Duplicates by event id are ignored. */
export const providerEventSignal = defineSignal<[PaymentWebhookEvent]>('providerEvent');

/** From the parent or ops: capture the authorised amount. Repeats are harmless; a request before authorisation is kept until then. */
export type CapturePaymentCommand = Record<string, never>;
export const capturePaymentSignal = defineSignal<[CapturePaymentCommand?]>('capturePayment');

/** From the parent or ops: give the money back — void if authorised, refund in full if captured, nothing if nothing was authorised. */
export interface CancelPaymentCommand {
  reason: string;
}
export const cancelPaymentSignal = defineSignal<[CancelPaymentCommand]>('cancelPayment');

/** One returned SKU and how many of its units: the refund's credit note credits them line by line. */
export interface RefundLine {
  sku: string;
  quantity: number;
}

/** From ops or returns: a partial or full refund of what was captured. `refundId` makes a repeat of the same request return its first result. */
export interface RefundPaymentRequest {
  refundId: string;
  amount: number;
  reason: string;
  /**
   * What is given back, when it is goods (a return): at most 100 distinct SKUs. Without lines, or an empty list (goodwill),
   * the credit note spreads the amount over the invoice's VAT rates. Lines not on the invoice, or more
   * units than are left to credit, fail the refund (`RefundNotCreditable`) before any money moves.
   */
  lines?: RefundLine[];
}
export interface RefundPaymentResult {
  refundId: string;
  amount: number;
  status: 'succeeded' | 'failed';
  /** Why a refund failed (the provider's code). */
  failure?: string;
}
export const refundPaymentUpdate = defineUpdate<RefundPaymentResult, [RefundPaymentRequest]>('refundPayment');

export const paymentStateQuery = defineQuery<PaymentState>('paymentState');

// ---- What the payment workflow tells its parent ----------------------------------------------------

export interface PaymentAuthorised {
  orderId: string;
}
export interface PaymentActionRequired {
  orderId: string;
  actionUrl: string;
}
export interface PaymentFailed {
  orderId: string;
  /** `card_declined`, `insufficient_funds`, `authentication_failed`, `confirmation_timeout`, `provider_unavailable`, `provider_rejected:<code>`, `authorisation_expired` … */
  reason: string;
  stage: PaymentFailureStage;
}
export interface PaymentCaptured {
  orderId: string;
}
export type PaymentCancelledAction = 'voided' | 'refunded' | 'none';
export interface PaymentCancelled {
  orderId: string;
  action: PaymentCancelledAction;
}

export const paymentAuthorisedSignal = defineSignal<[PaymentAuthorised]>('paymentAuthorised');
export const paymentActionRequiredSignal = defineSignal<[PaymentActionRequired]>('paymentActionRequired');
/** After this signal the payment workflow has ended and holds nothing: there is nothing left to cancel. */
export const paymentFailedSignal = defineSignal<[PaymentFailed]>('paymentFailed');
export const paymentCapturedSignal = defineSignal<[PaymentCaptured]>('paymentCaptured');
/** After this signal the payment workflow has ended. */
export const paymentCancelledSignal = defineSignal<[PaymentCancelled]>('paymentCancelled');

/** The result of the workflow, once it finishes. */
export interface PaymentOutcome {
  orderId: string;
  status: PaymentWorkflowStatus;
  authorised: number;
  captured: number;
  refunded: number;
  failure: PaymentState['failure'];
}

// ---- Webhook inbox delivery (the sweeper) ------------------------------------------------------------

export const paymentWebhookDeliveryWorkflowType = 'paymentWebhookDelivery';
export const paymentWebhookDeliveryWorkflowId = (prefix = ''): string => `${prefix}payment-webhook-delivery`;

export interface PaymentWebhookDeliveryInput {
  batchSize: number;
  /** How long one drain waits for pending events when there are none. */
  idleWaitMs: number;
  /** Events younger than this are left to the webhook route, which signals them itself right after storing them. */
  graceMs: number;
  resumeFrom?: PaymentWebhookDeliveryCounts;
}

export interface WebhookDrainResult {
  delivered: number;
  orphaned: number;
  stillPending: number;
}

export interface PaymentWebhookDeliveryCounts extends WebhookDrainResult {
  drains: number;
}

export const paymentWebhookDeliveryProgressQuery = defineQuery<PaymentWebhookDeliveryCounts>('paymentWebhookDeliveryProgress');

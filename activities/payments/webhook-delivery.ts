/**
 * Handing a stored provider event to its payment workflow: used by the webhook route right after it
 * stores the event, and by the inbox sweeper for what the route could not deliver (Temporal down, the
 * API killed between storing and signalling). Delivering twice is harmless — the workflow ignores an
 * event id it has seen — so the two never need to agree on who goes first.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { paymentOf, recordWebhookAttempt, type WebhookStatus } from '../../db/payments';
import type { PaymentStatus } from '../../db/schema/payments';
import type { PaymentWebhookEvent } from '../../payments/provider';
import type { Executor } from '../../platform/postgres';
import { withTemporalTimeout } from '../../platform/temporal';
import { paymentWorkflowId, providerEventSignal } from '../../workflows/payments/definitions';

/** The provider name the inbox files sandbox events under. */
export const sandboxWebhookProvider = 'sandbox';

/** What a provider event must look like before it is stored; anything else is the sender's bug (422). */
export const paymentWebhookEventSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(['payment.authorised', 'payment.declined', 'payment.captured', 'payment.refunded', 'payment.voided']),
  createdAt: z.string().min(1).max(100),
  data: z
    .object({
      providerPaymentId: z.string().min(1).max(200),
      orderId: z.string().min(1).max(200),
      amount: z.number().int().optional(),
      currency: z.string().optional(),
      reason: z.string().max(200).optional(),
    })
    .passthrough(),
});

/**
 * Events that merely echo what a finished payment already recorded: when the workflow has closed, such
 * an event changes nothing and is not worth an operator's attention. Anything else for a closed or
 * unknown payment (money authorised after the payment failed, an order we never had) is orphaned.
 */
const harmlessAfterClose: Partial<Record<PaymentStatus, PaymentWebhookEvent['type'][]>> = {
  failed: ['payment.declined', 'payment.voided'],
  voided: ['payment.voided'],
  captured: ['payment.authorised', 'payment.captured', 'payment.refunded'],
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface WebhookDeliveryDeps {
  db: Executor;
  client: Client;
  /** `config.TASK_QUEUE_PREFIX`: part of every workflow id. */
  prefix: string;
  /** Past this, the attempt counts as failed and the event stays pending for the sweeper. */
  signalTimeoutMs: number;
}

export interface WebhookDeliveryOutcome {
  status: WebhookStatus;
  error?: string;
}

/** Signals `providerEvent` to `payment-<orderId>` and says what became of the event; never throws for Temporal's sake. */
export async function signalPaymentEvent(deps: WebhookDeliveryDeps, event: PaymentWebhookEvent): Promise<WebhookDeliveryOutcome> {
  const workflowId = paymentWorkflowId(deps.prefix, event.data.orderId);
  try {
    await withTemporalTimeout(deps.client, deps.signalTimeoutMs, () => deps.client.workflow.getHandle(workflowId).signal(providerEventSignal, event));
    return { status: 'delivered' };
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) {
      return { status: 'pending', error: `signal failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  // No running workflow: either the order is unknown to us, or its payment has finished.
  const payment = uuidPattern.test(event.data.orderId) ? await paymentOf(deps.db, event.data.orderId) : undefined;
  if (!payment) return { status: 'orphaned', error: `no payment workflow ${workflowId} and no payment for order ${event.data.orderId}` };
  if (harmlessAfterClose[payment.status]?.includes(event.type)) {
    return { status: 'delivered', error: `payment workflow already closed; ${event.type} matches the recorded status ${payment.status}` };
  }
  return { status: 'orphaned', error: `payment workflow ${workflowId} closed with status ${payment.status}; ${event.type} needs review` };
}

/** Delivers one stored event and records the attempt on its row. */
export async function deliverStoredEvent(deps: WebhookDeliveryDeps, row: { id: number; payload: Record<string, unknown> }): Promise<WebhookDeliveryOutcome> {
  const parsed = paymentWebhookEventSchema.safeParse(row.payload);
  // Stored only after this very check; a row that fails it was written by something else and needs a person.
  const outcome: WebhookDeliveryOutcome = parsed.success
    ? await signalPaymentEvent(deps, parsed.data as PaymentWebhookEvent)
    : { status: 'orphaned', error: 'stored payload is not a payment event' };
  await recordWebhookAttempt(deps.db, row.id, outcome);
  return outcome;
}

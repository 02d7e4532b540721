import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  paymentWebhookDeliveryWorkflowId,
  paymentWebhookDeliveryWorkflowType,
  type PaymentWebhookDeliveryInput,
} from '../workflows/payments/definitions';
import type { WorkerContext } from './runtime';

export const paymentWebhookDeliveryDefaults: PaymentWebhookDeliveryInput = { batchSize: 50, idleWaitMs: 20_000, graceMs: 10_000 };

/**
 * Starts the payment webhook inbox sweeper unless it already runs: every payments worker calls this on
 * start, and the first one wins. Its workflow id is fixed, so Temporal itself keeps it to one.
 */
export async function ensurePaymentWebhookDelivery(context: WorkerContext, input: PaymentWebhookDeliveryInput = paymentWebhookDeliveryDefaults): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const workflowId = paymentWebhookDeliveryWorkflowId(context.config.TASK_QUEUE_PREFIX);
  try {
    await client.workflow.start(paymentWebhookDeliveryWorkflowType, {
      workflowId,
      taskQueue: context.config.taskQueues.payments,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}

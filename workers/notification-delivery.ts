import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { notificationDelivery, notificationDeliveryWorkflowId, type NotificationDeliveryInput } from '../workflows/identity/notificationDelivery';
import type { WorkerContext } from './runtime';

export const notificationDeliveryDefaults: NotificationDeliveryInput = { batchSize: 50, idleWaitMs: 20_000 };

/**
 * Starts the notification delivery unless it already runs: every identity worker calls this on start,
 * and the first one wins. Its workflow id is fixed, so Temporal itself keeps it to one.
 */
export async function ensureNotificationDelivery(context: WorkerContext, input: NotificationDeliveryInput = notificationDeliveryDefaults): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const workflowId = notificationDeliveryWorkflowId(context.config.TASK_QUEUE_PREFIX);
  try {
    await client.workflow.start(notificationDelivery, {
      workflowId,
      taskQueue: context.config.taskQueues.identity,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}

import { allHandlersFinished, condition, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities } from '../../activities/identity/notifications';
import { activityPresets } from '../activity-presets';

/** Names stored in workflow histories: never rename once released. */
export const notificationDeliveryWorkflowType = 'notificationDelivery';

/** One delivery workflow per deployment; the task-queue prefix keeps test files sharing a namespace apart. */
export const notificationDeliveryWorkflowId = (prefix = ''): string => `${prefix}notification-delivery`;

export interface NotificationDrainResult {
  delivered: number;
  failed: number;
}

export interface NotificationDeliveryCounts extends NotificationDrainResult {
  drains: number;
}

export interface NotificationDeliveryInput {
  batchSize: number;
  /** How long one drain waits for messages when the outbox is empty. */
  idleWaitMs: number;
  /** Set when the workflow continues as new: the counts so far. */
  resumeFrom?: NotificationDeliveryCounts;
}

export const notificationDeliveryProgressQuery = defineQuery<NotificationDeliveryCounts>('notificationDeliveryProgress');

// A drain may wait for messages (idleWaitMs) and heartbeats while it does: the batch preset fits both.
const notifications = proxyActivities<NotificationActivities>(activityPresets.databaseBatch);

/** Each round adds about six events; a fresh run well before Temporal suggests it keeps replays short. */
const maxRoundsPerRun = 400;

/**
 * Delivers the notification outbox (verification links, password resets, notices), forever. Each
 * drain marks a message delivered only once the sink has it, so a worker killed mid-batch means the
 * same messages are handed over again, never lost.
 */
export async function notificationDelivery(input: NotificationDeliveryInput): Promise<void> {
  const counts: NotificationDeliveryCounts = input.resumeFrom ?? { drains: 0, delivered: 0, failed: 0 };
  setHandler(notificationDeliveryProgressQuery, () => counts);

  for (let round = 0; round < maxRoundsPerRun && !workflowInfo().continueAsNewSuggested; round++) {
    const drained = await notifications.deliverNotifications({ batchSize: input.batchSize, idleWaitMs: input.idleWaitMs });
    counts.drains++;
    counts.delivered += drained.delivered;
    counts.failed += drained.failed;
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof notificationDelivery>({ ...input, resumeFrom: counts });
}

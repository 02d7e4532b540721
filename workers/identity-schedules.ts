import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { signingKeyRotationScheduleId, signingKeyRotationWorkflowType } from '../workflows/identity/definitions';
import type { WorkerContext } from './runtime';

/**
 * The Schedule that rotates the access-token signing key every SIGNING_KEY_ROTATION_DAYS. Every identity
 * worker ensures it on start; the Schedule id is fixed, so there is one. An existing Schedule is left
 * as it is: an operator may have paused or retimed it in the Web UI.
 */
export async function ensureSigningKeyRotationSchedule(context: WorkerContext): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const scheduleId = signingKeyRotationScheduleId(context.config.TASK_QUEUE_PREFIX);
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: `${context.config.SIGNING_KEY_ROTATION_DAYS} days` }] },
      action: {
        type: 'startWorkflow',
        workflowType: signingKeyRotationWorkflowType,
        taskQueue: context.config.taskQueues.identity,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return scheduleId;
}

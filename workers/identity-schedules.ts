import { signingKeyRotationScheduleId, signingKeyRotationWorkflowType } from '../workflows/identity/definitions';
import type { WorkerContext } from './runtime';
import { ensureSchedule } from './schedules';

/** Rotates the access-token signing key every SIGNING_KEY_ROTATION_DAYS. */
export function ensureSigningKeyRotationSchedule(context: WorkerContext): Promise<string> {
  return ensureSchedule(context, {
    scheduleId: signingKeyRotationScheduleId(context.config.TASK_QUEUE_PREFIX),
    workflowType: signingKeyRotationWorkflowType,
    taskQueue: context.config.taskQueues.identity,
    every: `${context.config.SIGNING_KEY_ROTATION_DAYS} days`,
    catchupWindow: '1 day',
  });
}

import { inventoryReservationSweepScheduleId, inventoryReservationSweepWorkflowType } from '../workflows/inventory/definitions';
import type { WorkerContext } from './runtime';
import { ensureSchedule } from './schedules';

/** Releases expired inventory reservations every minute, on the catalog queue (where the inventory activities run). */
export function ensureReservationSweepSchedule(context: WorkerContext): Promise<string> {
  return ensureSchedule(context, {
    scheduleId: inventoryReservationSweepScheduleId(context.config.TASK_QUEUE_PREFIX),
    workflowType: inventoryReservationSweepWorkflowType,
    taskQueue: context.config.taskQueues.catalog,
    every: '1 minute',
    // A missed minute is not worth replaying: the next run releases everything expired by then.
    catchupWindow: '1 minute',
    workflowExecutionTimeout: '10 minutes',
  });
}

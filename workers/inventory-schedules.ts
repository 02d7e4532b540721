import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { inventoryReservationSweepScheduleId, inventoryReservationSweepWorkflowType } from '../workflows/inventory/definitions';
import type { WorkerContext } from './runtime';

/**
 * The Schedule that releases expired inventory reservations every minute, on the catalog queue (where
 * the inventory activities run). Every catalog worker ensures it on start; the id is fixed, so there is
 * one. An existing Schedule is left as it is: an operator may have paused or retimed it in the Web UI.
 * A sweep still running when the next minute comes is not doubled (overlap SKIP).
 */
export async function ensureReservationSweepSchedule(context: WorkerContext): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const scheduleId = inventoryReservationSweepScheduleId(context.config.TASK_QUEUE_PREFIX);
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 minute' }] },
      action: {
        type: 'startWorkflow',
        workflowType: inventoryReservationSweepWorkflowType,
        taskQueue: context.config.taskQueues.catalog,
        args: [],
        workflowExecutionTimeout: '10 minutes',
      },
      // A missed minute is not worth replaying: the next run releases everything expired by then.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return scheduleId;
}

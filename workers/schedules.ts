import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { WorkerContext } from './runtime';

export interface RecurringWorkflow {
  scheduleId: string;
  workflowType: string;
  taskQueue: string;
  /** `'1 minute'`, `'30 days'`… */
  every: string;
  /** Missed runs within this window are run when the server comes back; older ones are skipped. */
  catchupWindow: string;
  workflowExecutionTimeout?: string;
}

/**
 * Creates a Schedule that starts `workflowType` every `every`, unless it exists. Every worker of the
 * queue calls this on start; the id is fixed, so there is one. An existing Schedule is left as it is: an
 * operator may have paused or retimed it in the Web UI. A run still going when the next is due is not
 * doubled (overlap SKIP).
 */
export async function ensureSchedule(context: WorkerContext, recurring: RecurringWorkflow): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  try {
    await client.schedule.create({
      scheduleId: recurring.scheduleId,
      spec: { intervals: [{ every: recurring.every }] },
      action: {
        type: 'startWorkflow',
        workflowType: recurring.workflowType,
        taskQueue: recurring.taskQueue,
        args: [],
        ...(recurring.workflowExecutionTimeout ? { workflowExecutionTimeout: recurring.workflowExecutionTimeout } : {}),
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: recurring.catchupWindow },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return recurring.scheduleId;
}

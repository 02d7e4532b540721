import { cartExpiryScheduleId, cartExpiryWorkflowType } from '../workflows/orders/definitions';
import type { WorkerContext } from './runtime';
import { ensureSchedule } from './schedules';

/** Expires carts idle for 30 days, hourly, on the orders queue. */
export function ensureCartExpirySchedule(context: WorkerContext): Promise<string> {
  return ensureSchedule(context, {
    scheduleId: cartExpiryScheduleId(context.config.TASK_QUEUE_PREFIX),
    workflowType: cartExpiryWorkflowType,
    taskQueue: context.config.taskQueues.orders,
    every: '1 hour',
    catchupWindow: '1 hour',
    workflowExecutionTimeout: '30 minutes',
  });
}

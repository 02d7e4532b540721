import {
  cartExpiryScheduleId,
  cartExpiryWorkflowType,
  idempotencyKeyPurgeScheduleId,
  idempotencyKeyPurgeWorkflowType,
  orderReconciliationScheduleId,
  orderReconciliationWorkflowType,
} from '../workflows/orders/definitions';
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

/** Repairs or flags orders stuck between states, every 10 minutes, on the orders queue. */
export function ensureOrderReconciliationSchedule(context: WorkerContext): Promise<string> {
  return ensureSchedule(context, {
    scheduleId: orderReconciliationScheduleId(context.config.TASK_QUEUE_PREFIX),
    workflowType: orderReconciliationWorkflowType,
    taskQueue: context.config.taskQueues.orders,
    every: '10 minutes',
    catchupWindow: '10 minutes',
    workflowExecutionTimeout: '10 minutes',
  });
}

/** Deletes idempotency keys past their 24 h, hourly, on the orders queue. */
export function ensureIdempotencyKeyPurgeSchedule(context: WorkerContext): Promise<string> {
  return ensureSchedule(context, {
    scheduleId: idempotencyKeyPurgeScheduleId(context.config.TASK_QUEUE_PREFIX),
    workflowType: idempotencyKeyPurgeWorkflowType,
    taskQueue: context.config.taskQueues.orders,
    every: '1 hour',
    catchupWindow: '1 hour',
    workflowExecutionTimeout: '30 minutes',
  });
}

import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createReservationActivities } from '../../activities/inventory/reservations';
import { createCheckoutActivities } from '../../activities/orders/checkout';
import { createCartActivities } from '../../activities/orders/carts';
import { createIdempotencyActivities } from '../../activities/orders/idempotency';
import { createReconciliationActivities } from '../../activities/orders/reconciliation';
import { workflowsPath, type WorkerContext } from '../runtime';

/**
 * The orders task queue: the checkout saga and what it calls directly — pricing, orders, and the
 * inventory reservations (the same activities the catalog queue registers, so a checkout never waits
 * behind a catalog import).
 */
export async function createOrdersWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption): Promise<Worker> {
  const deps = { db: context.postgres.db, config: context.config, logger: context.logger };
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.orders,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: { ...createCheckoutActivities(deps), ...createCartActivities(deps), ...createReservationActivities(deps), ...createReconciliationActivities(deps), ...createIdempotencyActivities(deps) },
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

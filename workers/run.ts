import type { Worker, WorkflowBundleOption } from '@temporalio/worker';
import { loadConfig } from '../platform/config';
import { createCatalogWorker } from './queues/catalog';
import { createWorkerContext, type WorkerContext } from './runtime';
import { ensureSearchIndexSync } from './search-sync';
import { ensureReservationSweepSchedule } from './inventory-schedules';
import { createIdentityWorker } from './queues/identity';
import { createOrdersWorker } from './queues/orders';
import { ensureCartExpirySchedule, ensureIdempotencyKeyPurgeSchedule, ensureOrderReconciliationSchedule } from './orders-schedules';
import { createPaymentsWorker } from './queues/payments';
import { createFulfilmentWorker } from './queues/fulfilment';
import { createLoyaltyWorker } from './queues/loyalty';
import { createMarketingWorker } from './queues/marketing';
import { ensurePaymentWebhookDelivery } from './payment-webhooks';
import { ensureSigningKeyRotationSchedule } from './identity-schedules';
import { ensureNotificationDelivery } from './notification-delivery';

export type WorkerName = 'catalog' | 'identity' | 'orders' | 'payments' | 'fulfilment' | 'loyalty' | 'marketing';

const factories: Record<WorkerName, (context: WorkerContext, bundle?: WorkflowBundleOption) => Promise<Worker>> = {
  catalog: createCatalogWorker,
  identity: createIdentityWorker,
  orders: createOrdersWorker,
  payments: createPaymentsWorker,
  fulfilment: createFulfilmentWorker,
  loyalty: createLoyaltyWorker,
  marketing: createMarketingWorker,
};

export const allWorkers = Object.keys(factories) as WorkerName[];

/**
 * Runs the named workers in this process until SIGINT/SIGTERM, then lets in-flight activities finish
 * (within each worker's grace time) before closing connections.
 */
export async function runWorkers(names: WorkerName[]): Promise<void> {
  const config = loadConfig();
  const context = await createWorkerContext(config);
  const bundle = config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined;
  const workers = await Promise.all(names.map((name) => factories[name](context, bundle)));
  if (names.includes('catalog')) {
    await ensureSearchIndexSync(context);
    await ensureReservationSweepSchedule(context);
  }
  if (names.includes('payments')) await ensurePaymentWebhookDelivery(context);
  if (names.includes('orders')) {
    await ensureCartExpirySchedule(context);
    await ensureOrderReconciliationSchedule(context);
    await ensureIdempotencyKeyPurgeSchedule(context);
  }
  if (names.includes('identity')) {
    await ensureSigningKeyRotationSchedule(context);
    await ensureNotificationDelivery(context);
  }
  const stop = (signal: string) => {
    context.logger.info({ signal }, 'worker shutting down');
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  context.logger.info(
    { taskQueues: names.map((name) => config.taskQueues[name]), namespace: config.TEMPORAL_NAMESPACE, metricsPort: config.WORKER_METRICS_PORT },
    'workers running',
  );
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    await context.telemetry.shutdown().catch(() => {});
    await context.close();
  }
}

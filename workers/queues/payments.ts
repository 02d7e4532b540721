import { Client } from '@temporalio/client';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createPaymentsActivities } from '../../activities/payments/index';
import type { PaymentProvider } from '../../payments/provider';
import { workflowsPath, type WorkerContext } from '../runtime';

/**
 * The payments task queue: the `payment` workflow of every order (authorise, capture, void, refund
 * against the provider of PAYMENT_PROVIDER_URL) and the webhook inbox sweeper.
 */
export async function createPaymentsWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption, options: { provider?: PaymentProvider } = {}): Promise<Worker> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.payments,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createPaymentsActivities({
      config: context.config,
      db: context.postgres.db,
      logger: context.logger,
      client,
      ...(options.provider ? { provider: options.provider } : {}),
    }),
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

import { Client } from '@temporalio/client';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { carrierFrom, createFulfilmentActivities } from '../../activities/fulfilment/index';
import { createReturnActivities } from '../../activities/returns/index';
import type { Carrier } from '../../fulfilment/carrier';
import { workflowsPath, type WorkerContext } from '../runtime';

/**
 * The fulfilment task queue: the `fulfilment` workflow of every paid order (shipments booked with the
 * carrier of CARRIER_URL, followed through its tracking events) and the returns that come back the same
 * way. Both domains' activities share the carrier adapter and the Temporal client (refunds).
 */
export async function createFulfilmentWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption, options: { carrier?: Carrier } = {}): Promise<Worker> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const deps = { config: context.config, db: context.postgres.db, logger: context.logger, client, carrier: options.carrier ?? carrierFrom(context.config) };
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.fulfilment,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createFulfilmentActivities(deps),
      ...createReturnActivities(deps),
    },
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

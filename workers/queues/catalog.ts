import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createCatalogActivities } from '../../activities/catalog/index';
import { createInventoryActivities } from '../../activities/inventory/index';
import { createSearchSyncActivities } from '../../activities/catalog/searchSync';
import { createSearchIndex } from '../../search/index';
import { workflowsPath, type WorkerContext } from '../runtime';

/**
 * The catalog task queue: catalog workflows and the activities they call. Inventory activities run
 * here too until inventory has workflows of its own and earns its own queue.
 */
export async function createCatalogWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption): Promise<Worker> {
  const deps = { db: context.postgres.db, logger: context.logger };
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.catalog,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createCatalogActivities(deps),
      ...createInventoryActivities(deps),
      ...createSearchSyncActivities({
        sql: context.postgres.sql,
        redis: context.redis,
        search: createSearchIndex(context.config, { sql: context.postgres.sql }),
        logger: context.logger,
      }),
    },
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

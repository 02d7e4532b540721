import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createCampaignActivities } from '../../activities/campaigns/campaigns';
import { workflowsPath, type WorkerContext } from '../runtime';

/**
 * The marketing task queue: the `campaign` workflow runs started by each launched campaign's Schedule,
 * and their activities (audience snapshot, batches queued to the notification outbox).
 */
export async function createMarketingWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption): Promise<Worker> {
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.marketing,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createCampaignActivities({ config: context.config, db: context.postgres.db, logger: context.logger }),
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

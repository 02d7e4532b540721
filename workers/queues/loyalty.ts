import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createLoyaltyLedgerActivities } from '../../activities/loyalty/ledger';
import { workflowsPath, type WorkerContext } from '../runtime';

/** The loyalty task queue: every customer's `loyaltyAccount` workflow and its ledger writes. */
export async function createLoyaltyWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption): Promise<Worker> {
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.loyalty,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createLoyaltyLedgerActivities({ db: context.postgres.db, logger: context.logger }),
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createIdentityActivities } from '../../activities/identity/index';
import { workflowsPath, type WorkerContext } from '../runtime';

/** The identity task queue: signing-key rotation, notification delivery, PII key rotation, GDPR erasure. */
export async function createIdentityWorker(context: WorkerContext, workflowBundle?: WorkflowBundleOption): Promise<Worker> {
  return Worker.create({
    connection: context.connection,
    namespace: context.config.TEMPORAL_NAMESPACE,
    taskQueue: context.config.taskQueues.identity,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createIdentityActivities({
      config: context.config,
      db: context.postgres.db,
      sql: context.postgres.sql,
      redis: context.redis,
      logger: context.logger,
    }),
    plugins: [context.otelPlugin],
    shutdownGraceTime: '10s',
  });
}

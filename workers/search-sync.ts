import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  searchIndexSyncWorkflowId,
  searchIndexSyncWorkflowType,
  type SearchIndexSyncInput,
} from '../workflows/catalog/definitions';
import type { WorkerContext } from './runtime';

export const searchIndexSyncDefaults: SearchIndexSyncInput = { batchSize: 100, idleWaitMs: 20_000 };

/**
 * Starts the search index sync unless it already runs: every catalog worker calls this on start, and
 * the first one wins. Its workflow id is fixed, so Temporal itself keeps it to one.
 */
export async function ensureSearchIndexSync(context: WorkerContext, input: SearchIndexSyncInput = searchIndexSyncDefaults): Promise<string> {
  const client = new Client({ connection: context.connection, namespace: context.config.TEMPORAL_NAMESPACE });
  const workflowId = searchIndexSyncWorkflowId(context.config.TASK_QUEUE_PREFIX);
  try {
    await client.workflow.start(searchIndexSyncWorkflowType, {
      workflowId,
      taskQueue: context.config.taskQueues.catalog,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}

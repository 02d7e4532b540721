import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SearchSyncActivities } from '../../activities/catalog/searchSync';
import { activityPresets } from '../activity-presets';
import {
  searchSyncProgressQuery,
  type ReindexInput,
  type ReindexResult,
  type SearchIndexSyncInput,
  type SearchSyncCounts,
} from './definitions';

// A drain may wait for rows (idleWaitMs) and heartbeats while it does: the batch preset fits both.
const sync = proxyActivities<SearchSyncActivities>(activityPresets.databaseBatch);

/** Each round adds about six events; a fresh run well before Temporal suggests it keeps replays short. */
const maxRoundsPerRun = 400;

/**
 * Drains the catalog and stock outboxes into the search index and the read cache, forever. Each drain
 * is idempotent and marks its rows only after the index and the cache have them, so a worker killed
 * mid-batch only means the same rows are drained again.
 */
export async function searchIndexSync(input: SearchIndexSyncInput): Promise<void> {
  const counts: SearchSyncCounts = input.resumeFrom ?? { drains: 0, catalogEvents: 0, stockEvents: 0, indexed: 0, removed: 0 };
  setHandler(searchSyncProgressQuery, () => counts);

  for (let round = 0; round < maxRoundsPerRun && !workflowInfo().continueAsNewSuggested; round++) {
    // The activity waits for rows itself when both outboxes are empty: an idle shop costs one
    // activity per idleWaitMs in the history instead of a timer and an activity per poll.
    const drained = await sync.drainSearchOutbox({ batchSize: input.batchSize, idleWaitMs: input.idleWaitMs });
    counts.drains++;
    counts.catalogEvents += drained.catalogEvents;
    counts.stockEvents += drained.stockEvents;
    counts.indexed += drained.indexed;
    counts.removed += drained.removed;
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof searchIndexSync>({ ...input, resumeFrom: counts });
}

/**
 * Builds a new index from the whole catalog while the live one keeps answering, then swaps it in
 * atomically and drops the old one. Changes made meanwhile reach both indexes through the sync.
 */
export async function reindex(input: ReindexInput): Promise<ReindexResult> {
  const { indexName } = await sync.beginReindex({ reindexId: input.reindexId });
  let afterId = input.resumeFrom?.afterId ?? null;
  let indexed = input.resumeFrom?.indexed ?? 0;
  for (;;) {
    const batch = await sync.reindexBatch({ indexName, afterId, batchSize: input.batchSize });
    indexed += batch.indexed;
    if (batch.lastId === null) break;
    afterId = batch.lastId;
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof reindex>({ ...input, resumeFrom: { afterId, indexed } });
    }
  }
  const { replaced } = await sync.swapSearchIndex({ indexName });
  if (replaced) await sync.dropSearchIndex({ indexName: replaced });
  return { indexName, indexed, replaced };
}

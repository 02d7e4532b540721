import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';

/**
 * With RECORD_HISTORIES=1, stores a workflow's history under test/histories/<name>.json, where
 * test/replay.test.ts replays it against the workflow code on every run. A history of a workflow still
 * running replays too, up to its last event. `runId` picks one run of a chain continued as new (default: the latest).
 */
export async function recordHistory(client: Client, workflowId: string, name: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = new URL('../histories/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), historyToJSON(history) + '\n');
}

import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { workflowsPath } from '../workers/runtime';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((file) => file.endsWith('.json')).sort();

/**
 * Histories recorded from real runs (RECORD_HISTORIES=1 npm test) are replayed against today's
 * workflow code: a change that would break workflows already in flight fails here, before it ships.
 */
test('recorded workflow histories replay against the current workflow code', async () => {
  assert.ok(files.length > 0, 'no recorded histories in test/histories');
  async function* histories() {
    for (const file of files) {
      yield { workflowId: file, history: historyFromJSON(JSON.parse(readFileSync(new URL(file, dir), 'utf8'))) };
    }
  }
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  const results = Worker.runReplayHistories(
    {
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath }),
      plugins: [new OpenTelemetryPlugin({ resource: new Resource({}), spanProcessor: new NoopSpanProcessor() })],
    },
    histories(),
  );
  const replayed: string[] = [];
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${result.error}`);
    replayed.push(result.workflowId);
  }
  assert.deepEqual(replayed, files);
});

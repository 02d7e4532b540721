import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createCatalogActivities } from '../../activities/catalog/index';
import { createInventoryActivities } from '../../activities/inventory/index';
import { insertImport } from '../../db/imports';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { workflowsPath } from '../../workers/runtime';
import { catalogImportWorkflowId, type ImportProgress } from '../../workflows/catalog/definitions';
import { testConfig } from '../support/stack';

const config = testConfig('retries');
const postgres = connectPostgres(config.DATABASE_URL, { max: 2 });
let env: TestWorkflowEnvironment;

before(async () => {
  // Temporal's time-skipping test server: timers and retry backoffs pass instantly.
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER_PATH! } },
  });
});

after(async () => {
  await env?.teardown();
  await postgres.close();
});

test('an import rides out a database outage with the preset backoff, on skipped time', async () => {
  const importId = `imp_${randomUUID()}`;
  await insertImport(postgres.db, {
    id: importId,
    idempotencyKey: null,
    bodySha256: 'x',
    workflowId: catalogImportWorkflowId(importId),
    rows: [{ slug: `retry-${importId.slice(4, 12)}`, title: 'Retry', variants: [{ sku: `RETRY-${importId.slice(4, 12).toUpperCase()}`, title: 'u', prices: [{ currency: 'EUR', amount: 500 }] }] }],
  });

  const real = createCatalogActivities({ db: postgres.db, logger: createLogger({ level: 'silent', name: 't' }) });
  let failures = 0;
  const activities = {
    ...real,
    ...createInventoryActivities({ db: postgres.db }),
    // The first three attempts meet a database that is restarting.
    async beginImport(id: string) {
      if (failures < 3) {
        failures++;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      return real.beginImport(id);
    },
  };
  const taskQueue = `retries-${randomUUID()}`;
  const bundlePath = config.WORKFLOW_BUNDLE_PATH;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath }),
    activities,
    plugins: [new OpenTelemetryPlugin({ resource: new Resource({}), spanProcessor: new NoopSpanProcessor() })],
  });

  const startedAt = await env.currentTimeMs();
  const wallStart = Date.now();
  const result = await worker.runUntil(
    env.client.workflow.execute('catalogImport', { workflowId: catalogImportWorkflowId(importId), taskQueue, args: [{ importId, batchSize: 10 }] }),
  ) as ImportProgress;

  assert.equal(failures, 3);
  assert.equal(result.status, 'completed');
  assert.equal(result.importedRows, 1);
  // databaseBatch preset: 1 s, 2 s, 4 s between attempts → at least 7 s of workflow time…
  const skipped = (await env.currentTimeMs()) - startedAt;
  assert.ok(skipped >= 7_000, `workflow time advanced ${skipped} ms`);
  // …that did not have to be waited for.
  assert.ok(Date.now() - wallStart < skipped, `wall clock ${Date.now() - wallStart} ms`);
});

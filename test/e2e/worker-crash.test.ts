import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crashStage, prefixedDemoCatalog, testConfig, waitFor } from '../support/stack';
import { adminHeaders } from '../support/identity';

// Its own slugs and SKUs, so the counts below can only come from this import.
const rows = prefixedDemoCatalog('crash');
const expectedVariants = rows.reduce((n, p) => n + p.variants.length, 0);
const expectedStock = rows.reduce((n, p) => n + p.variants.reduce((m, v) => m + v.stock.length, 0), 0);

describe('a worker killed in the middle of an import', () => {
  const config = testConfig('worker-crash', { IMPORT_BATCH_SIZE: '5' });
  const stage = crashStage(config);
  const spawnWorker = () => stage.spawnWorker();

  test('is replaced by a new one that finishes the import with no duplicates', async () => {
    const first = await spawnWorker();
    const response = await fetch(`${stage.api.baseUrl}/v1/admin/catalog/imports`, { method: 'POST', headers: (await adminHeaders(config)), body: JSON.stringify(rows) });
    assert.equal(response.status, 202);
    const location = response.headers.get('location')!;
    const progress = async () => (await (await fetch(`${stage.api.baseUrl}${location}`, { headers: (await adminHeaders(config)) })).json()) as { status: string; processedRows: number; importedRows: number; failedRows: number; totalRows: number; workflowId: string };

    // Kill it for real (no graceful shutdown) once a few batches are in.
    await waitFor(async () => (await progress()).processedRows >= 30, { what: 'the first batches', intervalMs: 20 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atCrash = await progress();
    assert.equal(atCrash.status, 'running');
    assert.ok(atCrash.processedRows < rows.length, `killed mid-way (${atCrash.processedRows}/${rows.length})`);

    await spawnWorker();
    const done = await waitFor(async () => {
      const view = await progress();
      return view.status === 'completed' ? view : undefined;
    }, { what: 'the import to finish on the new worker', timeoutMs: 120_000, intervalMs: 250 });
    assert.equal(done.importedRows, rows.length);
    assert.equal(done.failedRows, 0);

    const { sql } = stage.api.deps;
    const [counts] = await sql<{ products: number; variants: number; prices: number; stock: number; rows: number }[]>`
      SELECT
        (SELECT count(*)::int FROM catalog.products WHERE slug LIKE 'crash-%') AS products,
        (SELECT count(*)::int FROM catalog.variants WHERE sku LIKE 'CRASH-%') AS variants,
        (SELECT count(*)::int FROM catalog.prices p JOIN catalog.variants v ON v.id = p.variant_id WHERE v.sku LIKE 'CRASH-%') AS prices,
        (SELECT count(*)::int FROM inventory.stock_levels WHERE sku LIKE 'CRASH-%') AS stock,
        (SELECT count(*)::int FROM catalog.import_rows WHERE import_id = ${location.split('/').at(-1)!} AND status = 'imported') AS rows`;
    const expectedPrices = rows.reduce((n, p) => n + p.variants.reduce((m, v) => m + v.prices.length, 0), 0);
    assert.deepEqual(counts, { products: rows.length, variants: expectedVariants, prices: expectedPrices, stock: expectedStock, rows: rows.length });

    // The history shows the interruption really happened mid-flight: an activity ran again (attempt > 1)
    // or a workflow task timed out on the dead worker.
    const history = await stage.api.deps.temporal.client.workflow.getHandle(done.workflowId).fetchHistory();
    const events = history.events ?? [];
    const retriedActivity = events.some((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    const timedOutTask = events.some((event) => event.workflowTaskTimedOutEventAttributes);
    assert.ok(retriedActivity || timedOutTask, 'the history records the crash');
  });
});

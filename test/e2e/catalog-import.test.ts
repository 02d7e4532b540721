import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setupTelemetry } from '../../platform/telemetry';
import { catalogImportWorkflowId } from '../../workflows/catalog/definitions';
import { recordHistory } from '../support/histories';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { adminHeaders } from '../support/identity';

const demo = JSON.parse(readFileSync(new URL('../../db/seed/demo-catalog.json', import.meta.url), 'utf8')) as {
  slug: string;
  status: string;
  variants: { sku: string }[];
}[];
const published = demo.filter((p) => p.status === 'published');

// Installed before anything else so the API, the client interceptor and the worker all export here.
const spans = new InMemorySpanExporter();
const telemetry = setupTelemetry({ serviceName: 'comptoir-test', spanProcessor: new SimpleSpanProcessor(spans) });

describe('catalog import, end to end over HTTP with a running worker', () => {
  let config: ReturnType<typeof testConfig>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  before(async () => {
    config = testConfig('catalog-import', { WORKER_METRICS_PORT: String(await freePort()), IMPORT_BATCH_SIZE: '40' });
    api = await startApi(config);
    worker = await startWorker(config, { telemetry });
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
  });

  const post = async (body: string, headers: Record<string, string> = {}, contentType = 'application/json') =>
    fetch(`${api.baseUrl}/v1/admin/catalog/imports`, { method: 'POST', headers: { ...(await adminHeaders(config, contentType)), ...headers }, body });

  async function untilCompleted(location: string) {
    return waitFor(
      async () => {
        const response = await fetch(`${api.baseUrl}${location}`, { headers: (await adminHeaders(config)) });
        const view = (await response.json()) as { status: string; [key: string]: unknown };
        return view.status === 'completed' ? view : undefined;
      },
      { what: `import ${location} to complete`, timeoutMs: 120_000 },
    );
  }

  async function snapshot() {
    const { sql } = api.deps;
    const tables = ['catalog.products', 'catalog.variants', 'catalog.prices', 'catalog.categories', 'catalog.product_categories', 'inventory.stock_levels'];
    const out: Record<string, unknown[]> = {};
    for (const table of tables) {
      out[table] = await sql.unsafe(`SELECT t.*, t.xmin::text AS version FROM ${table} t ORDER BY 1, 2`);
    }
    return out;
  }

  let firstImportLocation = '';

  test('the demo catalog imports through the workflow and every published product can be read', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await post(JSON.stringify(demo), {
      'idempotency-key': 'demo-e2e',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    assert.equal(response.status, 202);
    const accepted = (await response.json()) as { id: string; workflowId: string };
    firstImportLocation = response.headers.get('location')!;
    assert.equal(firstImportLocation, `/v1/admin/catalog/imports/${accepted.id}`);
    assert.equal(accepted.workflowId, catalogImportWorkflowId(accepted.id));

    const view = await untilCompleted(firstImportLocation);
    assert.equal(view.totalRows, demo.length);
    assert.equal(view.importedRows, demo.length);
    assert.equal(view.failedRows, 0);

    // Walk every page: each published product exactly once, drafts never.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${api.baseUrl}/v1/products?limit=100${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        items: { slug: string; priceFrom: { amount: number; currency: string }[] }[];
        nextCursor: string | null;
      };
      assert.ok(page.items.length <= 100);
      for (const item of page.items) {
        assert.ok(item.priceFrom.some((p) => p.currency === 'EUR' && Number.isInteger(p.amount)));
        seen.push(item.slug);
      }
      cursor = page.nextCursor;
    } while (cursor);
    // Other test files share the run's database: every demo product is listed once, drafts never.
    assert.equal(new Set(seen).size, seen.length, 'no product listed twice');
    const listed = new Set(seen);
    assert.deepEqual(published.filter((p) => !listed.has(p.slug)), []);
    assert.deepEqual(demo.filter((p) => p.status === 'draft' && listed.has(p.slug)), []);

    const detail = (await (await fetch(`${api.baseUrl}/v1/products/theiere-fonte`)).json()) as {
      title: string;
      variants: { sku: string; available: number; prices: unknown[] }[];
      categories: { path: string }[];
    };
    assert.equal(detail.title, 'Théière en fonte');
    assert.ok(detail.variants.length > 0);
    assert.ok(detail.categories.some((c) => c.path.startsWith('maison')));
    const draft = demo.find((p) => p.status === 'draft')!;
    assert.equal((await fetch(`${api.baseUrl}/v1/products/${draft.slug}`)).status, 404);

    // The trace begun by the HTTP request runs through the workflow into the activities and their database calls.
    await telemetry.spanProcessor.forceFlush();
    const traced = spans.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const names = new Set(traced.map((span) => span.name));
    assert.ok(names.has('POST /v1/admin/catalog/imports'), `spans: ${[...names].join(', ')}`);
    assert.ok([...names].some((name) => name.startsWith('StartWorkflow:catalogImport')), `spans: ${[...names].join(', ')}`);
    assert.ok([...names].some((name) => name.startsWith('RunActivity:importBatch')), `spans: ${[...names].join(', ')}`);
    assert.ok(names.has('db.importBatch'), `spans: ${[...names].join(', ')}`);

    // Stored for the replay test, so a workflow change that breaks running imports fails CI.
    await recordHistory(api.deps.temporal.client, accepted.workflowId, 'catalogImport-demo');
  });

  test('the same Idempotency-Key and body answer with the same import; another body with it is refused', async () => {
    const again = await post(JSON.stringify(demo), { 'idempotency-key': 'demo-e2e' });
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('location'), firstImportLocation);
    const other = await post(JSON.stringify(demo.slice(0, 3)), { 'idempotency-key': 'demo-e2e' });
    assert.equal(other.status, 422);
    assert.equal(other.headers.get('content-type'), 'application/problem+json');
    const body = (await other.json()) as { errors: { field: string }[] };
    assert.equal(body.errors[0]!.field, 'idempotency-key');
  });

  test('importing the same catalog again, as NDJSON this time, changes nothing', async () => {
    const countEvents = async () => {
      const [row] = await api.deps.sql<{ catalog: number; stock: number }[]>`
        SELECT (SELECT count(*)::int FROM catalog.outbox) AS catalog, (SELECT count(*)::int FROM inventory.outbox) AS stock`;
      return row;
    };
    const eventsBefore = await countEvents();
    assert.ok(eventsBefore!.catalog >= demo.length, 'the first import recorded one event per product');
    const before = await snapshot();
    const response = await post(demo.map((p) => JSON.stringify(p)).join('\n') + '\n', {}, 'application/x-ndjson');
    assert.equal(response.status, 202);
    const view = await untilCompleted(response.headers.get('location')!);
    assert.equal(view.importedRows, demo.length);
    // xmin is the row version: any write, even of equal values, would change it.
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await countEvents(), eventsBefore, 'no change, so no event for the index or the cache');
  });

  test('bad rows are reported one by one while the good rows are imported', async () => {
    const rows = [
      { slug: 'lampe-bureau-laiton', title: 'Lampe de bureau en laiton', categories: ['Maison > Luminaires'], variants: [{ sku: 'LAMPE-LAITON', title: 'Laiton', prices: [{ currency: 'EUR', amount: 8900 }], stock: [{ location: 'lyon-1', onHand: 4 }] }] },
      { slug: 'Pas Un Slug', title: 'x', variants: [] },
      { slug: 'bougie-figue', title: 'Bougie figue', colour: 'vert', variants: [{ sku: 'BOUGIE-FIGUE', title: '200 g', prices: [{ currency: 'EUR', amount: 2490 }] }] },
      { slug: 'vol-de-sku', title: 'Vol de SKU', variants: [{ sku: demo[0]!.variants[0]!.sku, title: 'x', prices: [{ currency: 'EUR', amount: 100 }] }] },
      { slug: 'prix-faux', title: 'Prix faux', variants: [{ sku: 'PRIX-FAUX', title: 'x', prices: [{ currency: 'EUR', amount: 19.99 }] }] },
    ];
    const response = await post(JSON.stringify(rows));
    const view = (await untilCompleted(response.headers.get('location')!)) as unknown as {
      importedRows: number;
      failedRows: number;
      rowErrors: { row: number; errors: { field: string; message: string }[] }[];
    };
    assert.equal(view.importedRows, 1);
    assert.equal(view.failedRows, 4);
    const byRow = new Map(view.rowErrors.map((r) => [r.row, r.errors.map((e) => e.field)]));
    assert.deepEqual([...byRow.keys()], [2, 3, 4, 5]);
    assert.ok(byRow.get(2)!.includes('slug'));
    assert.ok(byRow.get(2)!.includes('variants'));
    assert.deepEqual(byRow.get(3), ['colour']);
    assert.deepEqual(byRow.get(4), ['variants.0.sku']);
    assert.deepEqual(byRow.get(5), ['variants.0.prices.0.amount']);
    // The SKU stayed with the product that owned it.
    const owner = (await (await fetch(`${api.baseUrl}/v1/products/${demo[0]!.slug}`)).json()) as { variants: { sku: string }[] };
    assert.ok(owner.variants.some((v) => v.sku === demo[0]!.variants[0]!.sku));
    assert.equal((await fetch(`${api.baseUrl}/v1/products/lampe-bureau-laiton`)).status, 200);
  });

  test('metrics: request durations by route on /metrics, and the worker exposes the SDK metrics', async () => {
    const text = await (await fetch(`${api.baseUrl}/metrics`)).text();
    assert.match(text, /http_request_duration_seconds_count\{method="GET",route="\/v1\/products",status="200"\} \d+/);
    assert.match(text, /http_request_duration_seconds_count\{method="GET",route="\/v1\/products\/:slug",status="404"\} \d+/);
    const workerMetrics = await waitFor(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics`)).text();
        return /temporal_activity_execution/.test(body) ? body : undefined;
      },
      { what: 'worker metrics', timeoutMs: 15_000 },
    );
    assert.match(workerMetrics, /temporal_workflow_completed|temporal_activity_execution_latency/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import { buildSearchDocuments } from '../../search/documents';
import { reindexWorkflowId, reindexWorkflowType, searchIndexSyncWorkflowId, type ReindexResult } from '../../workflows/catalog/definitions';
import { ensureSearchIndexSync } from '../../workers/search-sync';
import { recordHistory } from '../support/histories';
import { freePort, startApi, startWorker, testConfig, waitFor, crashStage, prefixedDemoCatalog } from '../support/stack';
import { adminHeaders } from '../support/identity';

const run = Date.now().toString(36);

interface SearchPage {
  items: { slug: string; title: string; price: { amount: number } | null; inStock: boolean; highlights: { title: string; description: string } }[];
  total: number;
  facets: { categories: { value: string; count: number }[]; attributes: Record<string, { value: string; count: number }[]>; inStock: number };
  nextCursor: string | null;
}

const product = (slug: string, title: string, fields: Record<string, unknown> = {}, stock = 5) => ({
  slug: `${slug}-${run}`,
  title,
  description: `${title}, fabriqué avec soin.`,
  variants: [
    { sku: `${slug.toUpperCase()}-${run.toUpperCase()}-1`, title: 'Unique', options: { colour: 'rouge' }, prices: [{ currency: 'EUR', amount: 4990 }], stock: [{ location: 'paris-1', onHand: stock }] },
  ],
  ...fields,
});

describe('search over HTTP, kept in step by the searchIndexSync workflow', () => {
  let config: ReturnType<typeof testConfig>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  const teapot = product('theiere-zeppelin', 'Théière Zeppelin en fonte', { categories: ['Maison > Cuisine'], attributes: { material: 'fonte' } });
  const shoes = product('chaussures-zeppelin', 'Chaussures Zeppelin trail', { categories: ['Sport > Chaussures > Running'], attributes: { material: 'mesh' } }, 0);
  const jumper = product('pull-zeppelin', 'Pull Zeppelin en laine', { categories: ['Mode > Homme'], attributes: { material: 'laine' } });

  before(async () => {
    config = testConfig('search-e2e', { WORKER_METRICS_PORT: String(await freePort()) });
    api = await startApi(config);
    worker = await startWorker(config);
    await ensureSearchIndexSync(worker.context, { batchSize: 50, idleWaitMs: 2_000 });
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
  });

  const get = (query: string) => fetch(`${api.baseUrl}/v1/search?${query}`);
  const search = async (query: string) => {
    const response = await get(query);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as SearchPage;
  };
  async function importRows(rows: unknown[]) {
    const response = await fetch(`${api.baseUrl}/v1/admin/catalog/imports`, { method: 'POST', headers: (await adminHeaders(config)), body: JSON.stringify(rows) });
    assert.equal(response.status, 202);
    const location = response.headers.get('location')!;
    await waitFor(async () => ((await (await fetch(`${api.baseUrl}${location}`, { headers: (await adminHeaders(config)) })).json()) as { status: string }).status === 'completed', {
      what: 'import',
    });
  }

  test('imported products become searchable, with facets', async () => {
    await importRows([teapot, shoes, jumper]);
    const page = await waitFor(async () => {
      const result = await search('q=zeppelin');
      return result.total === 3 ? result : undefined;
    }, { what: 'the sync workflow to index the import', timeoutMs: 30_000 });
    assert.deepEqual(new Set(page.items.map((i) => i.slug)), new Set([teapot.slug, shoes.slug, jumper.slug]));
    const categories = new Map(page.facets.categories.map((f) => [f.value, f.count]));
    assert.equal(categories.get('sport'), 1);
    assert.equal(categories.get('sport/chaussures/running'), 1);
    assert.equal(categories.get('maison/cuisine'), 1);
    assert.equal(page.facets.inStock, 2);
    assert.deepEqual(page.facets.attributes.material?.map((f) => f.value).sort(), ['fonte', 'laine', 'mesh']);

    const typo = await search('q=zepelin%20theiere');
    assert.equal(typo.items[0]?.slug, teapot.slug);
    assert.match(typo.items[0]!.highlights.title, /<mark>Théière<\/mark> <mark>Zeppelin<\/mark>/);
    const filtered = await search(`q=zeppelin&category=sport&inStock=false&attr.material=mesh&sort=price_asc`);
    assert.deepEqual(filtered.items.map((i) => i.slug), [shoes.slug]);
    assert.equal(filtered.items[0]!.price?.amount, 4990);
  });

  test('a re-import that changes a product changes the search result and clears its cache', async () => {
    await api.deps.redis.set(catalogCacheKeys.productBySlug(jumper.slug), 'stale');
    await api.deps.redis.set(catalogCacheKeys.categoryTree(), 'stale');
    await importRows([{ ...jumper, title: 'Pull Zeppelin en cachemire' }, { ...shoes, status: 'draft' }]);
    const page = await waitFor(async () => {
      const result = await search('q=zeppelin');
      return result.total === 2 && result.items.some((i) => i.title.includes('cachemire')) ? result : undefined;
    }, { what: 'the change to reach the index', timeoutMs: 30_000 });
    assert.ok(!page.items.some((i) => i.slug === shoes.slug), 'a product back to draft leaves the index');
    // Other test files share the database: the demo catalog has cashmere too, but no zeppelin.
    assert.deepEqual((await search('q=cachemire%20zeppelin')).items.map((i) => i.slug), [jumper.slug]);
    assert.equal(await api.deps.redis.get(catalogCacheKeys.productBySlug(jumper.slug)), null);
    assert.equal(await api.deps.redis.get(catalogCacheKeys.categoryTree()), null);
  });

  test('search results are cached per generation; a stock change retires them and refreshes the product page', async () => {
    const generationKey = catalogCacheKeys.searchGeneration(api.deps.search.alias);
    const detail = async () => (await (await fetch(`${api.baseUrl}/v1/products/${teapot.slug}`)).json()) as { inStock: boolean; variants: { available: number }[] };
    await waitFor(async () => (await api.deps.redis.get(generationKey)) !== null, { what: 'the worker to publish the search generation' });
    // Other test files share the database and its outbox, so the generation may move at any moment:
    // the cached answer is only required when it stayed put around both searches.
    const retouch = (title: string) => api.deps.sql`
      UPDATE catalog.search_documents SET document = jsonb_set(document, '{title}', ${JSON.stringify(title)}::jsonb)
      WHERE slug = ${teapot.slug}`;
    let first: SearchPage | undefined;
    let generation = -1;
    for (let attempt = 0; attempt < 10 && !first; attempt += 1) {
      // A query of its own per attempt, so an answer cached by an earlier attempt (which may hold the
      // retouched title) is never what this one reads first.
      const query = `q=theiere%20zeppelin&limit=${10 + attempt}`;
      const before = await api.deps.redis.get(generationKey);
      const cached = await search(query);
      // Written behind the cache's back, without a new generation: the cached answer is still served.
      await retouch('Retouchée en douce');
      const again = await search(query);
      const afterwards = await api.deps.redis.get(generationKey);
      await retouch(teapot.title);
      if (before === afterwards) {
        assert.deepEqual(again, cached);
        first = cached;
        generation = Number(before);
      }
    }
    assert.ok(first, 'the generation stayed put around two searches at least once in ten attempts');
    assert.equal(first.items[0]?.slug, teapot.slug);
    assert.equal(first.items[0]?.title, teapot.title);
    assert.equal(first.items[0]?.inStock, true);
    assert.equal((await detail()).inStock, true);

    // …until a real change: the teapot sells out, through the import and the inventory outbox.
    const soldOut = { ...teapot, variants: teapot.variants.map((v) => ({ ...v, stock: [{ location: 'paris-1', onHand: 0 }] })) };
    await importRows([soldOut]);
    const fresh = await waitFor(async () => {
      const result = await search('q=theiere%20zeppelin');
      return result.items[0]?.inStock === false ? result : undefined;
    }, { what: 'the stock change to retire the cached result', timeoutMs: 30_000 });
    assert.equal(fresh.items[0]?.slug, teapot.slug);
    assert.ok(Number(await api.deps.redis.get(generationKey)) > generation, 'the generation moved on');
    const page = await waitFor(async () => {
      const product = await detail();
      return product.inStock === false ? product : undefined;
    }, { what: 'the product page to show the new stock', timeoutMs: 10_000 });
    assert.ok(page.variants.every((v) => v.available === 0));
    await importRows([teapot]);
    await waitFor(async () => ((await search('q=theiere%20zeppelin')).items[0]?.inStock === true ? true : undefined), { what: 'stock back', timeoutMs: 30_000 });
  });

  test('query parameters are validated strictly, as problem+json', async () => {
    const cases: [string, number, string][] = [
      ['q=x&sort=popularity', 400, 'sort'],
      ['priceMin=-1', 400, 'priceMin'],
      ['priceMin=5000&priceMax=100', 400, 'priceMin'],
      ['limit=101', 400, 'limit'],
      ['cursor=not-a-cursor', 400, 'cursor'],
      [`q=${'a'.repeat(201)}`, 400, 'q'],
      ['colour=rouge', 400, 'colour'],
      ['attr=nocolon', 400, 'attr'],
      ['attr.Material=x', 400, 'attr.Material'],
      ['currency=euro', 400, 'currency'],
    ];
    for (const [query, status, field] of cases) {
      const response = await get(query);
      assert.equal(response.status, status, query);
      assert.equal(response.headers.get('content-type'), 'application/problem+json', query);
      const body = (await response.json()) as { errors?: { field: string }[] };
      assert.ok(body.errors?.some((e) => e.field === field), `${query}: ${JSON.stringify(body.errors)}`);
    }
    const huge = await get(`q=${'a'.repeat(10 * 1024)}`);
    assert.equal(huge.status, 414);
    assert.equal(huge.headers.get('content-type'), 'application/problem+json');

    const first = await search('q=zeppelin&limit=1');
    assert.ok(first.nextCursor);
    const second = await search(`q=zeppelin&limit=1&cursor=${first.nextCursor}`);
    assert.notEqual(second.items[0]!.slug, first.items[0]!.slug);
    assert.equal(second.nextCursor, null);
  });

  test('synonyms: admin only, and applied to the next search', async () => {
    const url = `${api.baseUrl}/v1/admin/search/synonyms`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"groups":[]}' })).status, 401);
    const bad = await fetch(url, { method: 'PUT', headers: (await adminHeaders(config)), body: JSON.stringify({ groups: [['seul']] }) });
    assert.equal(bad.status, 422);
    assert.equal((await search('q=dirigeable')).total, 0);
    const put = await fetch(url, { method: 'PUT', headers: (await adminHeaders(config)), body: JSON.stringify({ groups: [['Dirigeable', 'zeppelin', 'ZEPPELIN']] }) });
    assert.equal(put.status, 200);
    assert.deepEqual(((await put.json()) as { groups: string[][] }).groups, [['dirigeable', 'zeppelin']]);
    assert.deepEqual(new Set((await search('q=dirigeable')).items.map((i) => i.slug)), new Set([teapot.slug, jumper.slug]));
    assert.deepEqual((await search('q=dirigeable%20fonte')).items.map((i) => i.slug), [teapot.slug]);
    const got = (await (await fetch(url, { headers: (await adminHeaders(config)) })).json()) as { groups: string[][] };
    assert.deepEqual(got.groups, [['dirigeable', 'zeppelin']]);
    await fetch(url, { method: 'PUT', headers: (await adminHeaders(config)), body: JSON.stringify({ groups: [] }) });
  });

  test('a reindex swaps a new index in while searches keep returning the full result', async () => {
    const client = api.deps.temporal.client;
    const reindexId = `r${run}`;
    const handle = await client.workflow.start(reindexWorkflowType, {
      workflowId: reindexWorkflowId(reindexId, config.TASK_QUEUE_PREFIX),
      taskQueue: config.taskQueues.catalog,
      // Small batches over the whole shared catalog: the rebuild takes many steps, so queries overlap it.
      args: [{ reindexId, batchSize: 10 }],
    });
    let done = false;
    const result = handle.result().finally(() => (done = true)) as Promise<ReindexResult>;
    let queries = 0;
    while (!done) {
      const page = await search('q=zeppelin');
      assert.equal(page.total, 2, `query ${queries} during the rebuild`);
      assert.deepEqual(new Set(page.items.map((i) => i.slug)), new Set([teapot.slug, jumper.slug]));
      queries++;
    }
    const { indexName, indexed, replaced } = await result;
    assert.ok(queries > 3, `queries ran during the rebuild (${queries})`);
    assert.ok(indexed >= 2);
    assert.ok(replaced);
    const [live] = await api.deps.sql<{ name: string }[]>`
      SELECT name FROM catalog.search_indexes WHERE alias = ${api.deps.search.alias} AND state = 'live'`;
    assert.equal(live!.name, indexName);
    const [old] = await api.deps.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM catalog.search_indexes WHERE name = ${replaced}`;
    assert.equal(old!.n, 0, 'the old index is dropped');
    assert.equal((await search('q=zeppelin')).total, 2);

    // The sync now writes into the new index.
    await importRows([{ ...teapot, title: 'Théière Zeppelin en fonte émaillée' }]);
    await waitFor(async () => (await search('q=emaillee%20zeppelin')).total === 1, { what: 'a change after the swap', timeoutMs: 30_000 });

    await recordHistory(client, reindexWorkflowId(reindexId, config.TASK_QUEUE_PREFIX), 'reindex');
    await recordHistory(client, searchIndexSyncWorkflowId(config.TASK_QUEUE_PREFIX), 'searchIndexSync-running');
  });
});

describe('the outbox drain with its worker killed mid-way', () => {
  const config = testConfig('search-drain', { IMPORT_BATCH_SIZE: '10' });
  const rows = prefixedDemoCatalog('drain');
  const stage = crashStage(config);
  const spawnWorker = () => stage.spawnWorker();

  const pending = async () => {
    const [row] = await stage.api.deps.sql<{ catalog: number; stock: number; processed: number }[]>`
      SELECT (SELECT count(*)::int FROM catalog.outbox WHERE processed_at IS NULL) AS catalog,
             (SELECT count(*)::int FROM inventory.outbox WHERE processed_at IS NULL) AS stock,
             (SELECT count(*)::int FROM catalog.outbox o JOIN catalog.products p ON p.id = o.aggregate_id
               WHERE p.slug LIKE 'drain-%' AND o.processed_at IS NOT NULL) AS processed`;
    return row!;
  };

  test('loses nothing and duplicates nothing: the index matches the catalog', async () => {
    const first = await spawnWorker();
    const response = await fetch(`${stage.api.baseUrl}/v1/admin/catalog/imports`, { method: 'POST', headers: (await adminHeaders(config)), body: JSON.stringify(rows) });
    assert.equal(response.status, 202);
    const location = response.headers.get('location')!;

    // Killed for real once the drain has started on this import's rows and before it is through.
    await waitFor(async () => (await pending()).processed > 0, { what: 'the first drained rows', intervalMs: 10 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atCrash = await pending();
    assert.ok(atCrash.processed < rows.length, `killed mid-way (${atCrash.processed}/${rows.length} product events drained)`);

    await spawnWorker();
    await waitFor(async () => ((await (await fetch(`${stage.api.baseUrl}${location}`, { headers: (await adminHeaders(config)) })).json()) as { status: string }).status === 'completed', {
      what: 'the import to finish',
      timeoutMs: 120_000,
    });
    await waitFor(async () => {
      const left = await pending();
      return left.catalog === 0 && left.stock === 0;
    }, { what: 'both outboxes to be drained', timeoutMs: 120_000, intervalMs: 250 });

    const { sql, search } = stage.api.deps;
    const [outbox] = await sql<{ events: number; products: number }[]>`
      SELECT count(*)::int AS events, count(DISTINCT o.aggregate_id)::int AS products
      FROM catalog.outbox o JOIN catalog.products p ON p.id = o.aggregate_id WHERE p.slug LIKE 'drain-%'`;
    assert.equal(outbox!.products, rows.length, 'one event per imported product');

    // The index holds exactly the published products, each once, each equal to the catalog now.
    const products = await sql<{ id: string }[]>`SELECT id FROM catalog.products WHERE slug LIKE 'drain-%' ORDER BY id`;
    const expected = await buildSearchDocuments(sql, products.map((p) => p.id));
    assert.equal(expected.length, rows.filter((r) => r.status === 'published').length);
    const stored = await sql<{ document: unknown }[]>`
      SELECT d.document FROM catalog.search_documents d JOIN catalog.search_indexes i ON i.name = d.index_name
      WHERE i.alias = ${search.alias} AND i.state = 'live' AND d.slug LIKE 'drain-%' ORDER BY d.product_id`;
    assert.equal(stored.length, expected.length);
    assert.deepEqual(stored.map((row) => row.document), expected);

    const history = await stage.api.deps.temporal.client.workflow.getHandle(`${config.TASK_QUEUE_PREFIX}search-index-sync`).fetchHistory();
    const interrupted = (history.events ?? []).some(
      (event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1 || event.workflowTaskTimedOutEventAttributes || event.activityTaskTimedOutEventAttributes,
    );
    assert.ok(interrupted, 'the sync history records the crash');
  });
});

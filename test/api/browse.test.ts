import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import { upsertProduct, type ProductDraft } from '../../db/catalog';
import { invalidate, ReadCache } from '../../platform/cache';
import { dropDatabase, ensureDatabase, migrateDatabase } from '../../platform/postgres';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { adminHeaders } from '../support/identity';

type Summary = { id: string; slug: string; title: string; categories: string[]; priceFrom: { amount: number; currency: string }[] };
type Page = { items: Summary[]; nextCursor: string | null };
type Problem = { type: string; status: number; errors?: { in: string; field: string; message: string }[] };
type CategoryNode = { name: string; slug: string; path: string; productCount: number; children: CategoryNode[] };

const demo = JSON.parse(readFileSync(new URL('../../db/seed/demo-catalog.json', import.meta.url), 'utf8')) as unknown[];

describe('browse: filters, sorts, categories and the read cache', () => {
  let config: ReturnType<typeof testConfig>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let rawRedis: Redis;
  // Its own database and key prefix: these tests add products and change rows behind the cache,
  // which the other files, sharing the run's database, must not see.
  const databaseUrl = new URL(process.env.DATABASE_URL!);
  databaseUrl.pathname = `${databaseUrl.pathname}_browse`;

  before(async () => {
    await ensureDatabase(databaseUrl.toString());
    await migrateDatabase(databaseUrl.toString());
    config = testConfig('browse', {
      WORKER_METRICS_PORT: String(await freePort()),
      DATABASE_URL: databaseUrl.toString(),
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'comptoir-test:'}browse:`,
    });
    api = await startApi(config);
    rawRedis = new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX });
    const worker = await startWorker(config);
    try {
      const response = await fetch(`${api.baseUrl}/v1/admin/catalog/imports`, {
        method: 'POST',
        headers: { ...(await adminHeaders(config)), 'idempotency-key': 'browse-demo' },
        body: JSON.stringify(demo),
      });
      assert.equal(response.status, 202);
      const location = response.headers.get('location')!;
      await waitFor(
        async () => {
          const view = (await (await fetch(`${api.baseUrl}${location}`, { headers: (await adminHeaders(config)) })).json()) as { status: string };
          return view.status === 'completed';
        },
        { what: 'demo import', timeoutMs: 120_000 },
      );
    } finally {
      // No worker from here on: nothing but these tests touches the cache.
      await worker.stop();
    }
  });

  after(async () => {
    rawRedis?.disconnect();
    await api?.stop();
    await dropDatabase(databaseUrl.toString());
  });

  const get = (path: string) => fetch(`${api.baseUrl}${path}`);

  async function walk(query: string, limit = 37): Promise<Summary[]> {
    const items: Summary[] = [];
    let cursor: string | null = null;
    do {
      const response = await get(`/v1/products?limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(response.status, 200, `${query}: ${await response.clone().text()}`);
      const page = (await response.json()) as Page;
      assert.ok(page.items.length <= limit);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }

  /** Published product ids matching a WHERE clause on `p`, written independently of the API's query. */
  async function sqlIds(where: string, params: (string | number)[] = []): Promise<string[]> {
    const rows = await api.deps.sql.unsafe<{ id: string }[]>(
      `SELECT p.id FROM catalog.products p WHERE p.status = 'published' AND (${where})`,
      params,
    );
    return rows.map((r) => r.id).sort();
  }

  const lowest = (currency: string) =>
    `(SELECT min(pr.amount) FROM catalog.variants v JOIN catalog.prices pr ON pr.variant_id = v.id WHERE v.product_id = p.id AND pr.currency = '${currency}')`;
  const inCategory = (path: string) =>
    `EXISTS (SELECT 1 FROM catalog.product_categories pc JOIN catalog.categories c ON c.id = pc.category_id
      WHERE pc.product_id = p.id AND (c.path = '${path}' OR c.path LIKE '${path}/%'))`;
  const inStock = `(SELECT coalesce(max(t), 0) FROM (SELECT sum(s.on_hand) AS t FROM catalog.variants v
      JOIN inventory.stock_levels s ON s.sku = v.sku WHERE v.product_id = p.id GROUP BY v.id) x) > 0`;

  async function expectProblem(response: Response, status: number, field: string): Promise<Problem> {
    assert.equal(response.status, status);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    const body = (await response.json()) as Problem;
    assert.equal(body.status, status);
    assert.ok(
      body.errors?.some((e) => e.field === field),
      `expected an error on ${field}, got ${JSON.stringify(body.errors)}`,
    );
    return body;
  }

  describe('filters, each checked against a direct SQL query', () => {
    const cases: [string, string, string][] = [
      ['no filter', '', 'true'],
      ['a root category includes its descendants', 'category=mode', inCategory('mode')],
      ['a leaf category', 'category=sport/chaussures/running', inCategory('sport/chaussures/running')],
      ['a category that does not exist', 'category=nulle-part', 'false'],
      ['a price range in EUR (the default currency)', 'priceMin=2000&priceMax=8000', `${lowest('EUR')} BETWEEN 2000 AND 8000`],
      ['a price floor in USD', 'currency=USD&priceMin=10000', `${lowest('USD')} >= 10000`],
      ['a price ceiling only', 'priceMax=1500', `${lowest('EUR')} <= 1500`],
      ['one attribute, two values (OR)', 'attr.material=lin&attr.material=coton%20bio', `p.attributes->>'material' IN ('lin', 'coton bio')`],
      ['two attributes (AND)', 'attr.material=coton&attr.gender=homme', `p.attributes->>'material' = 'coton' AND p.attributes->>'gender' = 'homme'`],
      ['a boolean attribute', 'attr.made_in_france=true', `p.attributes->'made_in_france' = 'true'::jsonb`],
      ['a number attribute, two values', 'attr.drop_mm=10&attr.drop_mm=4', `p.attributes->'drop_mm' IN ('10'::jsonb, '4'::jsonb)`],
      ['in stock', 'inStock=true', inStock],
      ['inStock=false filters nothing', 'inStock=false', 'true'],
      [
        'everything at once',
        'category=sport&inStock=true&priceMin=3000&priceMax=25000&attr.waterproof=true&sort=price_asc',
        `${inCategory('sport')} AND ${inStock} AND ${lowest('EUR')} BETWEEN 3000 AND 25000 AND p.attributes->'waterproof' = 'true'::jsonb`,
      ],
      ['category and attribute', 'category=mode/femme&attr.gender=femme&sort=price_desc', `${inCategory('mode/femme')} AND p.attributes->>'gender' = 'femme'`],
    ];
    for (const [name, query, where] of cases) {
      test(name, async () => {
        const items = await walk(query);
        const ids = items.map((i) => i.id);
        assert.equal(new Set(ids).size, ids.length, 'no product twice');
        const expected = await sqlIds(where);
        assert.deepEqual([...ids].sort(), expected);
        if (!['no filter', 'a category that does not exist', 'inStock=false filters nothing'].includes(name)) {
          const all = await sqlIds('true');
          assert.ok(expected.length > 0 && expected.length < all.length, `${name} should select a real subset (${expected.length}/${all.length})`);
        }
      });
    }
  });

  describe('sorts', () => {
    test('newest: creation time descending, id breaking ties', async () => {
      const items = await walk('sort=newest');
      const rows = await api.deps.sql<{ id: string }[]>`
        SELECT id FROM catalog.products WHERE status = 'published' ORDER BY created_at DESC, id DESC`;
      assert.deepEqual(
        items.map((i) => i.id),
        rows.map((r) => r.id),
      );
    });

    test('relevance without a query is newest, and newest is the default', async () => {
      const newest = (await walk('sort=newest')).map((i) => i.id);
      assert.deepEqual((await walk('sort=relevance')).map((i) => i.id), newest);
      assert.deepEqual((await walk('')).map((i) => i.id), newest);
    });

    for (const [sort, currency] of [
      ['price_asc', 'EUR'],
      ['price_desc', 'EUR'],
      ['price_asc', 'USD'],
      ['price_desc', 'USD'],
    ] as const) {
      test(`${sort} in ${currency}: lowest variant price ordered, products without a price in it last`, async () => {
        const items = await walk(`sort=${sort}&currency=${currency}`);
        assert.equal(items.length, (await sqlIds('true')).length);
        const priceOf = (item: Summary) => item.priceFrom.find((p) => p.currency === currency)?.amount;
        const priced = items.filter((i) => priceOf(i) !== undefined);
        const firstUnpriced = items.findIndex((i) => priceOf(i) === undefined);
        if (firstUnpriced >= 0) assert.ok(items.slice(firstUnpriced).every((i) => priceOf(i) === undefined), 'unpriced ones are last');
        assert.ok(priced.length > 10);
        for (let n = 1; n < priced.length; n++) {
          const [a, b] = [priceOf(priced[n - 1]!)!, priceOf(priced[n]!)!];
          assert.ok(sort === 'price_asc' ? a <= b : a >= b, `${sort}: ${a} then ${b} at ${n}`);
        }
      });
    }
  });

  describe('pagination stays stable while products are added', () => {
    let serial = 0;
    const draft = (currencies: string[]): ProductDraft => {
      serial += 1;
      const slug = `ajout-concurrent-${serial}-${Math.random().toString(36).slice(2, 8)}`;
      return {
        slug,
        title: `Ajout ${serial}`,
        description: '',
        status: 'published',
        attributes: { material: 'lin' },
        categories: [[{ path: 'mode', slug: 'mode', name: 'Mode', parentPath: null }]],
        variants: [
          {
            sku: slug.toUpperCase(),
            title: 'Unique',
            options: {},
            prices: currencies.map((currency) => ({ currency, amount: 100 + Math.floor(Math.random() * 40_000) })),
          },
        ],
      };
    };

    for (const sort of ['newest', 'price_asc', 'price_desc'] as const) {
      test(`${sort}: no product twice, none that existed at the start missed`, async () => {
        const { db } = api.deps;
        const existing = new Set(await sqlIds('true'));
        // Each page is fetched while a product is being written, so inserts land between and during page reads,
        // deterministically rather than racing a background loop that a fast walk could outrun.
        let inserted = 0;
        const insert = async () => {
          // Some only in USD: they sort last in EUR and must not break the keyset either.
          await db.transaction((tx) => upsertProduct(tx, draft(inserted % 4 === 0 ? ['USD'] : ['EUR', 'USD'])));
          inserted += 1;
        };
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const [response]: [Response, void] = await Promise.all([get(`/v1/products?limit=7&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`), insert()]);
          assert.equal(response.status, 200);
          const page = (await response.json()) as Page;
          seen.push(...page.items.map((i) => i.id));
          cursor = page.nextCursor;
          assert.ok(seen.length < existing.size + 400, 'the walk ends');
        } while (cursor);
        assert.ok(inserted > 5, `products were added while paging (${inserted})`);
        assert.equal(new Set(seen).size, seen.length, 'no product seen twice');
        const missed = [...existing].filter((id) => !seen.includes(id));
        assert.deepEqual(missed, [], 'every product that existed at the start was seen');
      });
    }
  });

  describe('bad input → problem+json 4xx naming the field', () => {
    test('unknown sort', async () => {
      await expectProblem(await get('/v1/products?sort=cheapest'), 400, 'sort');
    });
    test('negative prices', async () => {
      await expectProblem(await get('/v1/products?priceMin=-1'), 400, 'priceMin');
      await expectProblem(await get('/v1/products?priceMax=-100'), 400, 'priceMax');
    });
    test('inverted range', async () => {
      await expectProblem(await get('/v1/products?priceMin=5000&priceMax=1000'), 400, 'priceMin');
    });
    test('limit over 100', async () => {
      await expectProblem(await get('/v1/products?limit=101'), 400, 'limit');
    });
    test('malformed cursor', async () => {
      await expectProblem(await get('/v1/products?cursor=not-a-cursor'), 400, 'cursor');
      const forged = Buffer.from(JSON.stringify({ s: 'newest', k: 'yesterday', i: 'not-a-uuid' })).toString('base64url');
      await expectProblem(await get(`/v1/products?cursor=${forged}`), 400, 'cursor');
    });
    test('a cursor used with another sort or currency', async () => {
      const page = (await (await get('/v1/products?limit=2&sort=price_asc')).json()) as Page;
      assert.ok(page.nextCursor);
      const body = await expectProblem(await get(`/v1/products?limit=2&sort=newest&cursor=${page.nextCursor}`), 400, 'cursor');
      assert.match(JSON.stringify(body), /sort=price_asc/);
      await expectProblem(await get(`/v1/products?limit=2&sort=price_desc&cursor=${page.nextCursor}`), 400, 'cursor');
      await expectProblem(await get(`/v1/products?limit=2&sort=price_asc&currency=USD&cursor=${page.nextCursor}`), 400, 'cursor');
      assert.equal((await get(`/v1/products?limit=2&sort=price_asc&cursor=${page.nextCursor}`)).status, 200);
    });
    test('unknown parameters, each by name, even beside another error', async () => {
      const body = await expectProblem(await get('/v1/products?colour=rouge&attribute.material=lin&sort=nope'), 400, 'colour');
      assert.deepEqual(body.errors?.map((e) => e.field).sort(), ['attribute.material', 'colour', 'sort']);
      await expectProblem(await get('/v1/products?attr.Bad-Name=x'), 400, 'attr.Bad-Name');
      await expectProblem(await get('/v1/categories?depth=2'), 400, 'depth');
    });
    test('bad currency, category and inStock values', async () => {
      await expectProblem(await get('/v1/products?currency=euro'), 400, 'currency');
      await expectProblem(await get('/v1/products?category=Mode%20Femme'), 400, 'category');
      await expectProblem(await get('/v1/products?inStock=yes'), 400, 'inStock');
    });
  });

  describe('categories tree', () => {
    const flatten = (nodes: CategoryNode[]): CategoryNode[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);

    test('the whole tree, each count equal to a SQL count over the category and its descendants', async () => {
      await invalidate(rawRedis, [catalogCacheKeys.categoryTree()]);
      const response = await get('/v1/categories');
      assert.equal(response.status, 200);
      const { items } = (await response.json()) as { items: CategoryNode[] };
      const nodes = flatten(items);
      const [categoryCount] = await api.deps.sql<{ count: number }[]>`SELECT count(*)::int AS count FROM catalog.categories`;
      assert.equal(nodes.length, categoryCount!.count, 'every category once');
      assert.ok(items.some((n) => n.path === 'mode' && n.children.some((c) => c.path === 'mode/femme')));
      for (const node of nodes) {
        for (const child of node.children) assert.ok(child.path.startsWith(`${node.path}/`), `${child.path} under ${node.path}`);
        const expected = (await sqlIds(inCategory(node.path))).length;
        assert.equal(node.productCount, expected, node.path);
      }
      // The tree and the listing agree on what "in a category" means.
      const mode = nodes.find((n) => n.path === 'mode')!;
      assert.equal((await walk('category=mode', 100)).length, mode.productCount);
    });
  });

  describe('read cache', () => {
    const slug = 'theiere-fonte';
    const detail = async (s = slug) => {
      const response = await get(`/v1/products/${s}`);
      assert.equal(response.status, 200);
      return (await response.json()) as { title: string; media: { url: string; alt: string; position: number }[]; inStock: boolean; variants: { available: number }[] };
    };

    test('detail carries media in order; the second read is served from Redis until invalidate()', async () => {
      const [product] = await api.deps.sql<{ id: string }[]>`SELECT id FROM catalog.products WHERE slug = ${slug}`;
      const id = product!.id;
      await api.deps.sql`
        INSERT INTO catalog.media (product_id, storage_key, content_type, bytes, alt, position)
        VALUES (${id}, ${`products/${id}/2.jpg`}, 'image/jpeg', 10, 'Côté', 2), (${id}, ${`products/${id}/1.jpg`}, 'image/jpeg', 10, 'Face', 1)`;
      await invalidate(rawRedis, [catalogCacheKeys.productBySlug(slug)]);

      const first = await detail();
      assert.deepEqual(first.media, [
        { url: `/media/products/${id}/1.jpg`, alt: 'Face', position: 1 },
        { url: `/media/products/${id}/2.jpg`, alt: 'Côté', position: 2 },
      ]);
      assert.equal(await rawRedis.exists(catalogCacheKeys.productBySlug(slug)), 1, 'stored under the configured prefix');
      assert.ok(await rawRedis.ttl(catalogCacheKeys.productBySlug(slug)) > 0, 'with a TTL');

      await api.deps.sql`UPDATE catalog.products SET title = 'Changée derrière le cache' WHERE id = ${id}`;
      assert.equal((await detail()).title, first.title, 'served from Redis: the row changed, the answer did not');

      assert.equal(await invalidate(rawRedis, [catalogCacheKeys.productBySlug(slug)]), 1);
      assert.equal((await detail()).title, 'Changée derrière le cache', 'fresh after invalidation');

      const metrics = await (await get('/metrics')).text();
      assert.match(metrics, /comptoir_cache_lookups_total\{cache="product",outcome="hit"\} [1-9]/);
      assert.match(metrics, /comptoir_cache_lookups_total\{cache="product",outcome="miss"\} [1-9]/);
    });

    test('availability is cached with the product and refreshed when its entry is invalidated (as the stock outbox does)', async () => {
      await invalidate(rawRedis, [catalogCacheKeys.productBySlug(slug)]);
      const before = await detail();
      assert.ok(before.inStock);
      await api.deps.sql`
        UPDATE inventory.stock_levels SET on_hand = 0
        WHERE sku IN (SELECT v.sku FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id WHERE p.slug = ${slug})`;
      assert.deepEqual(await detail(), before, 'served from Redis until the outbox drain invalidates it');
      await invalidate(rawRedis, [catalogCacheKeys.productBySlug(slug)]);
      const after = await detail();
      assert.equal(after.inStock, false);
      assert.ok(after.variants.every((v) => v.available === 0));
    });

    test('the category tree is cached until invalidate()', async () => {
      await invalidate(rawRedis, [catalogCacheKeys.categoryTree()]);
      const tree = async () => ((await (await get('/v1/categories')).json()) as { items: CategoryNode[] }).items;
      const first = await tree();
      await api.deps.sql`UPDATE catalog.categories SET name = 'Mode et style' WHERE path = 'mode'`;
      assert.equal((await tree()).find((n) => n.path === 'mode')?.name, first.find((n) => n.path === 'mode')?.name);
      await invalidate(rawRedis, [catalogCacheKeys.categoryTree()]);
      assert.equal((await tree()).find((n) => n.path === 'mode')?.name, 'Mode et style');
    });

    test('stampede: 50 concurrent reads of a cold key load once, within a process and across processes', async () => {
      const logger = pino({ level: 'silent' });
      const key = `test:stampede:${Date.now()}`;
      let loads = 0;
      const load = async () => {
        loads += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { value: 42 };
      };
      const one = new ReadCache(rawRedis, logger);
      const results = await Promise.all(Array.from({ length: 50 }, () => one.get(key, 'test', 60, load)));
      assert.equal(loads, 1, 'single-flight in one process');
      assert.ok(results.every((r) => r?.value === 42));

      // Two "processes": separate clients and caches, so only the Redis lock stands between them.
      const otherClient = new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX });
      try {
        loads = 0;
        const coldKey = `${key}:2`;
        const a = new ReadCache(rawRedis, logger);
        const b = new ReadCache(otherClient, logger);
        await otherClient.ping();
        const both = await Promise.all(Array.from({ length: 50 }, (_, n) => (n % 2 ? a : b).get(coldKey, 'test', 60, load)));
        assert.equal(loads, 1, 'the Redis lock keeps the other process waiting for the value');
        assert.ok(both.every((r) => r?.value === 42));
      } finally {
        otherClient.disconnect();
      }
    });

    test('stampede over HTTP: 50 concurrent detail reads of a cold key → one miss, nothing else', async () => {
      const counts = async () => {
        const text = await (await get('/metrics')).text();
        const read = (outcome: string) => Number(new RegExp(`comptoir_cache_lookups_total\\{cache="product",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
        return { miss: read('miss'), hit: read('hit'), waited: read('waited'), bypass: read('bypass') };
      };
      const [cold] = await api.deps.sql<{ slug: string }[]>`
        SELECT slug FROM catalog.products WHERE status = 'published' AND slug <> ${slug} ORDER BY slug LIMIT 1`;
      const coldSlug = cold!.slug;
      await invalidate(rawRedis, [catalogCacheKeys.productBySlug(coldSlug)]);
      const before = await counts();
      const responses = await Promise.all(Array.from({ length: 50 }, () => get(`/v1/products/${coldSlug}`)));
      assert.ok(responses.every((r) => r.status === 200));
      const afterwards = await counts();
      assert.equal(afterwards.miss - before.miss, 1, 'the loader ran once');
      assert.equal(afterwards.bypass - before.bypass, 0);
    });

    test('a Redis that stops answering costs one bounded timeout, then reads skip it', async () => {
      // A TCP proxy to the real Redis that can be frozen: connected, "ready", and silent.
      let frozen = false;
      const sockets = new Set<Socket>();
      const target = new URL(config.REDIS_URL);
      const proxy = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        sockets.add(client).add(upstream);
        client.on('data', (chunk) => (frozen ? undefined : upstream.write(chunk)));
        upstream.on('data', (chunk) => (frozen ? undefined : client.write(chunk)));
        for (const socket of [client, upstream]) socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const redis = new Redis(`redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`, {
        keyPrefix: config.REDIS_KEY_PREFIX,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
      try {
        await waitFor(async () => redis.status === 'ready', { what: 'proxied redis', timeoutMs: 5_000 });
        const cache = new ReadCache(redis, pino({ level: 'silent' }), { commandTimeoutMs: 100 });
        const key = `test:hung:${Date.now()}`;
        assert.deepEqual(await cache.get(key, 'test', 60, async () => ({ n: 1 })), { n: 1 });
        frozen = true;
        let started = performance.now();
        assert.deepEqual(await cache.get(key, 'test', 60, async () => ({ n: 2 })), { n: 2 }, 'loaded from the source');
        assert.ok(performance.now() - started < 400, `first read after the freeze took ${Math.round(performance.now() - started)} ms`);
        started = performance.now();
        for (let n = 0; n < 20; n++) await cache.get(key, 'test', 60, async () => ({ n: 3 }));
        assert.ok(performance.now() - started < 100, `20 reads during the outage took ${Math.round(performance.now() - started)} ms`);
      } finally {
        redis.disconnect();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      }
    });

    test('Redis down: detail and categories still answer from Postgres, fast, and the outage is logged once', async () => {
      const lines: string[] = [];
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      const deps = connectApiDeps({ ...config, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
      try {
        const app = createApp({ ...deps, logger });
        for (let n = 0; n < 10; n++) {
          for (const path of [`/v1/products/${slug}`, '/v1/categories']) {
            const started = performance.now();
            const response = await app.request(`http://local${path}`);
            const elapsed = performance.now() - started;
            assert.equal(response.status, 200, path);
            assert.ok(elapsed < 500, `${path} took ${Math.round(elapsed)} ms`);
          }
        }
        assert.equal(lines.filter((l) => l.includes('read cache unavailable')).length, 1, 'one log line per outage');
      } finally {
        await deps.close();
      }
    });
  });
});

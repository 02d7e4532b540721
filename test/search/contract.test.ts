import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connectPostgres } from '../../platform/postgres';
import { createMeilisearchIndex } from '../../search/meilisearch';
import { createPostgresSearchIndex } from '../../search/postgres';
import { priceBucketOf, type SearchDocument, type SearchIndex, type SearchQuery } from '../../search/types';
import { testConfig } from '../support/stack';

const config = testConfig('search-contract');
const run = `${process.pid}${Date.now().toString(36)}`;

const doc = (fields: Partial<SearchDocument> & Pick<SearchDocument, 'slug' | 'title'>): SearchDocument => ({
  id: randomUUID(),
  description: '',
  brand: null,
  categoryPaths: [],
  categoryNames: [],
  attributes: {},
  options: {},
  prices: {},
  inStock: true,
  createdAt: '2024-01-01T00:00:00.000000Z',
  ...fields,
  slug: `${fields.slug}-${run}`,
});

// Our own documents, straight into an index of our own: the cases below can only see these.
const teapot = doc({
  slug: 'theiere-fonte',
  title: 'Théière en fonte noire',
  description: 'Une théière japonaise qui garde le thé chaud longtemps.',
  brand: 'Maison Iwachu',
  categoryPaths: ['maison', 'maison/cuisine'],
  categoryNames: ['Maison', 'Cuisine'],
  attributes: { material: 'fonte' },
  options: { colour: ['noir', 'rouge'] },
  prices: { EUR: 4990 },
  createdAt: '2024-01-01T00:00:00.000000Z',
});
const trail = doc({
  slug: 'chaussures-trail',
  title: 'Chaussures de running Trail',
  description: 'Accroche sur les sentiers boueux.',
  brand: 'Kalenji',
  categoryPaths: ['sport', 'sport/chaussures', 'sport/chaussures/running'],
  categoryNames: ['Sport', 'Chaussures', 'Running'],
  attributes: { material: 'mesh' },
  options: { size: ['40', '42'], colour: ['bleu'] },
  prices: { EUR: 8999 },
  createdAt: '2024-02-01T00:00:00.000000Z',
});
const cream = doc({
  slug: 'creme-visage',
  title: 'Crème hydratante visage',
  description: 'Hydrate la peau sèche toute la journée.',
  categoryPaths: ['beaute', 'beaute/soins'],
  categoryNames: ['Beauté', 'Soins'],
  prices: { EUR: 1890 },
  inStock: false,
  createdAt: '2024-03-01T00:00:00.000000Z',
});
const leather = doc({
  slug: 'leather-shoes',
  title: 'Leather running shoes',
  description: 'Lightweight leather shoes for road running and long walks.',
  categoryPaths: ['sport', 'sport/chaussures', 'sport/chaussures/running'],
  categoryNames: ['Sport', 'Chaussures', 'Running'],
  attributes: { material: 'cuir' },
  options: { colour: ['noir'] },
  prices: { EUR: 12900, USD: 13900 },
  createdAt: '2024-04-01T00:00:00.000000Z',
});
const jumper = doc({
  slug: 'pull-merinos',
  title: 'Pull en laine mérinos',
  description: 'Un pull chaud et doux pour l’hiver.',
  categoryPaths: ['mode', 'mode/homme'],
  categoryNames: ['Mode', 'Homme'],
  attributes: { material: 'laine' },
  options: { colour: ['gris'] },
  prices: { EUR: 7900 },
  createdAt: '2024-05-01T00:00:00.000000Z',
});
const cup = doc({
  slug: 'tasse-porcelaine',
  title: 'Tasse à thé en porcelaine',
  description: 'Porcelaine fine, passe au lave-vaisselle.',
  categoryPaths: ['maison', 'maison/cuisine'],
  categoryNames: ['Maison', 'Cuisine'],
  attributes: { material: 'porcelaine' },
  options: { colour: ['blanc'] },
  prices: { EUR: 990 },
  createdAt: '2024-06-01T00:00:00.000000Z',
});
const socks = doc({
  slug: 'chaussettes-sport',
  title: 'Chaussettes de sport',
  description: 'Lot de trois paires <b>renforcées</b> & respirantes.',
  categoryPaths: ['sport'],
  categoryNames: ['Sport'],
  prices: { EUR: 1290 },
  inStock: false,
  createdAt: '2024-07-01T00:00:00.000000Z',
});
const fixtures = [teapot, trail, cream, leather, jumper, cup, socks];
const nameOf = new Map(fixtures.map((d) => [d.id, d.slug.replace(`-${run}`, '')]));

const base: SearchQuery = { q: '', currency: 'EUR', sort: 'relevance', limit: 100, offset: 0 };

interface Backend {
  name: string;
  skip: string | false;
  create(): { index: SearchIndex; close(): Promise<void> };
}

const pg = connectPostgres(config.DATABASE_URL, { max: 4 });
const backends: Backend[] = [
  { name: 'postgres', skip: false, create: () => ({ index: createPostgresSearchIndex(pg.sql, `contract-${run}`), close: async () => {} }) },
  {
    name: 'meilisearch',
    skip: config.MEILI_HOST ? false : 'MEILI_HOST is not set: no Meilisearch server can be installed on this machine',
    create: () => ({ index: createMeilisearchIndex({ host: config.MEILI_HOST!, apiKey: config.MEILI_API_KEY, alias: `contract-${run}` }), close: async () => {} }),
  },
];

after(() => pg.close());

for (const backend of backends) {
  describe(`search contract: ${backend.name}`, { skip: backend.skip }, () => {
    let index: SearchIndex;
    let close: () => Promise<void>;
    const search = (query: Partial<SearchQuery>) => index.search({ ...base, ...query });
    const names = async (query: Partial<SearchQuery>) => (await search(query)).hits.map((hit) => nameOf.get(hit.document.id));
    const nameSet = async (query: Partial<SearchQuery>) => new Set(await names(query));

    before(async () => {
      ({ index, close } = backend.create());
      const live = await index.ensureLive();
      await index.upsert(live, fixtures);
    });

    after(async () => {
      await close?.();
    });

    test('an empty query browses everything, and writing the same documents again changes nothing', async () => {
      const live = await index.ensureLive();
      await index.upsert(live, fixtures);
      const result = await search({});
      assert.equal(result.total, fixtures.length);
      assert.equal(new Set(result.hits.map((h) => h.document.id)).size, fixtures.length);
      assert.deepEqual(result.hits.find((h) => h.document.id === leather.id)!.document, leather);
    });

    test('typos: a missing letter still finds the word', async () => {
      assert.ok((await nameSet({ q: 'chausure' })).has('chaussures-trail'));
      assert.ok((await nameSet({ q: 'porcelainne' })).has('tasse-porcelaine'));
      assert.ok((await nameSet({ q: 'hydrattante' })).has('creme-visage'));
    });

    test('accents and case: theiere finds Théière, creme finds Crème, THÉIÈRE too', async () => {
      assert.deepEqual(await names({ q: 'theiere' }), ['theiere-fonte']);
      assert.deepEqual(await names({ q: 'creme' }), ['creme-visage']);
      assert.deepEqual(await names({ q: 'THÉIÈRE' }), ['theiere-fonte']);
      assert.ok((await nameSet({ q: 'merinos' })).has('pull-merinos'));
    });

    test('prefixes: as the shopper types', async () => {
      assert.deepEqual(await nameSet({ q: 'chaus' }), new Set(['chaussures-trail', 'chaussettes-sport', 'leather-shoes']));
      assert.ok((await nameSet({ q: 'porcel' })).has('tasse-porcelaine'));
    });

    test('both languages: French and English words', async () => {
      assert.ok((await nameSet({ q: 'chaussure' })).has('chaussures-trail'), 'French singular finds the plural');
      assert.ok((await nameSet({ q: 'pull laine' })).has('pull-merinos'));
      assert.deepEqual(await names({ q: 'shoe' }), ['leather-shoes']);
      assert.deepEqual(await names({ q: 'leather shoes' }), ['leather-shoes']);
      assert.ok((await nameSet({ q: 'walks' })).has('leather-shoes'));
    });

    test('synonyms set by an admin apply to the query', async () => {
      assert.deepEqual(await names({ q: 'sweater' }), []);
      await index.setSynonyms([['pull', 'sweater', 'chandail']]);
      try {
        assert.deepEqual((await index.getSynonyms()).map((group) => [...group].sort()), [['chandail', 'pull', 'sweater']]);
        assert.deepEqual(await names({ q: 'sweater' }), ['pull-merinos']);
        assert.deepEqual(await names({ q: 'chandail' }), ['pull-merinos']);
      } finally {
        await index.setSynonyms([]);
      }
      assert.deepEqual(await index.getSynonyms(), []);
    });

    test('facet counts are computed over the filtered result set', async () => {
      const filter: Partial<SearchQuery> = { category: 'sport' };
      const result = await search(filter);
      const matching = fixtures.filter((d) => d.categoryPaths.includes('sport'));
      assert.equal(result.total, matching.length);
      const expectedCategories = new Map<string, number>();
      for (const d of matching) for (const path of d.categoryPaths) expectedCategories.set(path, (expectedCategories.get(path) ?? 0) + 1);
      assert.deepEqual(new Map(result.facets.categories.map((f) => [f.value, f.count])), expectedCategories);
      assert.equal(result.facets.inStock, matching.filter((d) => d.inStock).length);
      assert.deepEqual(
        Object.fromEntries(Object.entries(result.facets.attributes).map(([key, values]) => [key, Object.fromEntries(values.map((v) => [v.value, v.count]))])),
        { colour: { bleu: 1, noir: 1 }, material: { cuir: 1, mesh: 1 }, size: { '40': 1, '42': 1 } },
      );
      const buckets = new Map<number, number>();
      for (const d of matching) buckets.set(priceBucketOf(d.prices.EUR!).min, (buckets.get(priceBucketOf(d.prices.EUR!).min) ?? 0) + 1);
      for (const bucket of result.facets.prices) assert.equal(bucket.count, buckets.get(bucket.min) ?? 0, `bucket from ${bucket.min}`);

      if (backend.name === 'postgres') {
        // The same filter counted by hand in SQL over the same index.
        const rows = await pg.sql<{ path: string; n: number }[]>`
          SELECT unnest(d.category_paths) AS path, count(*)::int AS n
          FROM catalog.search_documents d JOIN catalog.search_indexes i ON i.name = d.index_name
          WHERE i.alias = ${index.alias} AND i.state = 'live' AND d.category_paths @> ARRAY['sport']
          GROUP BY 1`;
        assert.deepEqual(new Map(result.facets.categories.map((f) => [f.value, f.count])), new Map(rows.map((r) => [r.path, r.n])));
        const [stock] = await pg.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM catalog.search_documents d JOIN catalog.search_indexes i ON i.name = d.index_name
          WHERE i.alias = ${index.alias} AND i.state = 'live' AND d.category_paths @> ARRAY['sport'] AND d.in_stock`;
        assert.equal(result.facets.inStock, stock!.n);
      }

      const withText = await search({ q: 'chaussures', category: 'sport', inStock: true });
      assert.equal(withText.total, withText.hits.length);
      assert.equal(withText.facets.inStock, withText.total);
    });

    test('filters combine: category with its descendants, price range, attributes, stock', async () => {
      assert.deepEqual(await nameSet({ category: 'sport/chaussures' }), new Set(['chaussures-trail', 'leather-shoes']));
      assert.deepEqual(await nameSet({ category: 'sport', inStock: true }), new Set(['chaussures-trail', 'leather-shoes']));
      assert.deepEqual(await nameSet({ category: 'sport', inStock: false }), new Set(['chaussettes-sport']));
      assert.deepEqual(await nameSet({ priceMin: 5000, priceMax: 10000 }), new Set(['chaussures-trail', 'pull-merinos']));
      assert.deepEqual(await nameSet({ currency: 'USD', priceMin: 0 }), new Set(['leather-shoes']));
      // Same key: either value; different keys: both.
      assert.deepEqual(
        await nameSet({ attributes: { colour: ['noir', 'bleu'] } }),
        new Set(['theiere-fonte', 'chaussures-trail', 'leather-shoes']),
      );
      assert.deepEqual(
        await nameSet({ attributes: { colour: ['noir'], material: ['fonte'] } }),
        new Set(['theiere-fonte']),
      );
      assert.deepEqual(await nameSet({ q: 'running', category: 'sport', priceMax: 10000 }), new Set(['chaussures-trail']));
    });

    test('sort orders: price ascending and descending, newest, relevance', async () => {
      const byPrice = [...fixtures].sort((a, b) => a.prices.EUR! - b.prices.EUR!).map((d) => nameOf.get(d.id));
      assert.deepEqual(await names({ sort: 'price_asc' }), byPrice);
      assert.deepEqual(await names({ sort: 'price_desc' }), [...byPrice].reverse());
      const newest = [...fixtures].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((d) => nameOf.get(d.id));
      assert.deepEqual(await names({ sort: 'newest' }), newest);
      // A title match ranks before a match in the categories only.
      const relevance = await names({ q: 'sport' });
      assert.equal(relevance[0], 'chaussettes-sport');
      assert.deepEqual(new Set(relevance), new Set(['chaussettes-sport', 'chaussures-trail', 'leather-shoes']));
    });

    test('pagination: limit and offset walk the result without overlap', async () => {
      const all = await names({ sort: 'price_asc' });
      const pages = [...(await names({ sort: 'price_asc', limit: 3, offset: 0 })), ...(await names({ sort: 'price_asc', limit: 3, offset: 3 })), ...(await names({ sort: 'price_asc', limit: 3, offset: 6 }))];
      assert.deepEqual(pages, all);
      const second = await search({ sort: 'price_asc', limit: 3, offset: 3 });
      assert.equal(second.total, fixtures.length);
    });

    test('highlights mark the matched words in the original text, and escape its HTML', async () => {
      const [hit] = (await search({ q: 'theiere' })).hits;
      assert.equal(hit!.highlights.title, '<mark>Théière</mark> en fonte noire');
      assert.match(hit!.highlights.description, /<mark>théière<\/mark>/);
      const typo = (await search({ q: 'chausure', category: 'sport/chaussures/running', inStock: true, priceMax: 10000 })).hits;
      assert.match(typo[0]!.highlights.title, /<mark>Chaussures<\/mark>/);
      const prefix = (await search({ q: 'chaus', category: 'sport', inStock: false })).hits;
      assert.match(prefix[0]!.highlights.title, /<mark>Chaussettes<\/mark> de sport/);
      assert.match(prefix[0]!.highlights.description, /&lt;b&gt;renforcées&lt;\/b&gt; &amp; respirantes/);
      const plain = (await search({ category: 'sport', inStock: false })).hits;
      assert.equal(plain[0]!.highlights.title, 'Chaussettes de sport');
    });

    test('removing a document takes it out of results and facets', async () => {
      const live = await index.ensureLive();
      const extra = doc({ slug: 'bougie-figue', title: 'Bougie parfumée figue', categoryPaths: ['maison'], categoryNames: ['Maison'], prices: { EUR: 2490 } });
      await index.upsert(live, [extra]);
      assert.equal((await search({ q: 'bougie' })).total, 1);
      await index.remove(live, [extra.id]);
      await index.remove(live, [extra.id]);
      assert.equal((await search({ q: 'bougie' })).total, 0);
      assert.equal((await search({ category: 'maison' })).total, 2);
    });

    test('a rebuilt index replaces the live one atomically, then the old one is dropped', async () => {
      const before = await index.ensureLive();
      const rebuilt = `${index.alias}__rebuild-1`;
      await index.createBuildIndex(rebuilt);
      assert.deepEqual(new Set(await index.writeTargets()), new Set([before, rebuilt]));
      const renamed = { ...jumper, title: 'Pull en laine mérinos (édition hiver)' };
      await index.upsert(rebuilt, fixtures.map((d) => (d.id === jumper.id ? renamed : d)));
      // Still the old index until the swap.
      assert.deepEqual((await search({ q: 'edition' })).total, 0);
      const { replaced } = await index.swapLive(rebuilt);
      assert.ok(replaced);
      assert.deepEqual(await names({ q: 'edition hiver' }), ['pull-merinos']);
      assert.equal((await search({})).total, fixtures.length);
      // Swapping again (a retried activity) changes nothing.
      await index.swapLive(rebuilt);
      assert.deepEqual(await names({ q: 'edition hiver' }), ['pull-merinos']);
      await index.dropIndex(replaced!);
      assert.equal((await search({})).total, fixtures.length);
      assert.equal((await index.writeTargets()).length, 1);
    });
  });
}

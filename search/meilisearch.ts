import { Meilisearch, type Settings } from 'meilisearch';
import {
  facetValuesOf,
  priceBucketBounds,
  priceBucketOf,
  type FacetCount,
  type SearchDocument,
  type SearchIndex,
  type SearchQuery,
  type SynonymGroup,
} from './types';

/** What Meilisearch stores: the document plus the flat fields its filters, sorts and facets need. */
interface MeiliDocument extends SearchDocument {
  keywords: string[];
  facetValues: string[];
  /** Lower bound of the price bucket per currency, so buckets come back as an ordinary facet. */
  priceBucket: Record<string, number>;
  createdAtMs: number;
}

const settings: Settings = {
  searchableAttributes: ['title', 'brand', 'categoryNames', 'keywords', 'description'],
  filterableAttributes: ['categoryPaths', 'facetValues', 'prices', 'priceBucket', 'inStock'],
  sortableAttributes: ['prices', 'createdAtMs'],
  // The same thresholds as the Postgres backend: one typo from 5 letters, two from 9.
  typoTolerance: { enabled: true, minWordSizeForTypos: { oneTypo: 5, twoTypos: 9 } },
  localizedAttributes: [{ attributePatterns: ['*'], locales: ['fra', 'eng'] }],
  faceting: { maxValuesPerFacet: 200 },
  pagination: { maxTotalHits: 10_000 },
};

// Control characters no catalog text contains: the highlight is escaped as HTML first, then marked.
const pre = '\u0001';
const post = '\u0002';
const escapeHtml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const marked = (text: string) => escapeHtml(text).replaceAll(pre, '<mark>').replaceAll(post, '</mark>');
const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

function toMeili(document: SearchDocument): MeiliDocument {
  const facetValues = facetValuesOf(document);
  return {
    ...document,
    keywords: facetValues.map((value) => value.slice(value.indexOf('=') + 1)),
    facetValues,
    priceBucket: Object.fromEntries(Object.entries(document.prices).map(([currency, amount]) => [currency, priceBucketOf(amount).min])),
    createdAtMs: Date.parse(document.createdAt),
  };
}

function fromMeili(hit: Record<string, unknown>): SearchDocument {
  const { keywords: _k, facetValues: _f, priceBucket: _p, createdAtMs: _c, _formatted: _fo, ...document } = hit;
  return document as unknown as SearchDocument;
}

/** Meilisearch's synonyms are a map from each term to its equivalents; groups are what an admin edits. */
function synonymMap(groups: SynonymGroup[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const group of groups) for (const term of group) map[term] = [...new Set([...(map[term] ?? []), ...group.filter((t) => t !== term)])];
  return map;
}

function synonymGroups(map: Record<string, string[]>): SynonymGroup[] {
  const seen = new Set<string>();
  const groups: SynonymGroup[] = [];
  for (const [term, others] of Object.entries(map)) {
    const group = [term, ...others].sort();
    const key = group.join('\u0000');
    if (!seen.has(key)) {
      seen.add(key);
      groups.push(group);
    }
  }
  return groups;
}

function filterOf(query: SearchQuery): string[] {
  const filters: string[] = [];
  if (query.category) filters.push(`categoryPaths = ${quoted(query.category)}`);
  const price = `prices.${query.currency}`;
  if (query.priceMin !== undefined) filters.push(`${price} >= ${query.priceMin}`);
  if (query.priceMax !== undefined) filters.push(`${price} <= ${query.priceMax}`);
  for (const [key, values] of Object.entries(query.attributes ?? {})) {
    filters.push(`facetValues IN [${values.map((value) => quoted(`${key}=${value}`)).join(', ')}]`);
  }
  if (query.inStock !== undefined) filters.push(`inStock = ${query.inStock}`);
  return filters;
}

function sortOf(query: SearchQuery): string[] | undefined {
  switch (query.sort) {
    case 'price_asc':
      return [`prices.${query.currency}:asc`];
    case 'price_desc':
      return [`prices.${query.currency}:desc`];
    case 'newest':
      return ['createdAtMs:desc'];
    case 'relevance':
      return query.q.trim() === '' ? ['createdAtMs:desc'] : undefined;
  }
}

/**
 * The same contract over Meilisearch. The live index is the one named after the alias; a reindex
 * builds `<alias>__<name>` and swaps the two with `swapIndexes`, which Meilisearch does atomically.
 */
export function createMeilisearchIndex(options: { host: string; apiKey?: string; alias?: string }): SearchIndex {
  const client = new Meilisearch({ host: options.host, apiKey: options.apiKey });
  const alias = options.alias ?? 'products';
  const buildPrefix = `${alias}__`;

  async function ensureIndex(uid: string): Promise<void> {
    const existing = await client.index(uid).getRawInfo().catch(() => undefined);
    if (!existing) await client.createIndex(uid, { primaryKey: 'id' }).waitTask();
    await client.index(uid).updateSettings(settings).waitTask();
  }

  async function indexUids(): Promise<string[]> {
    const { results } = await client.getIndexes({ limit: 1000 });
    return results.map((index) => index.uid).filter((uid) => uid === alias || uid.startsWith(buildPrefix));
  }

  // Settings are applied once per process, lazily, so a search never waits on them after the first.
  let live: Promise<void> | undefined;
  const ensureLive = () =>
    (live ??= ensureIndex(alias).catch((error) => {
      live = undefined;
      throw error;
    }));

  return {
    backend: 'meilisearch',
    alias,

    async ensureLive() {
      await ensureLive();
      return alias;
    },

    async writeTargets() {
      await ensureLive();
      return indexUids();
    },

    async upsert(indexName, documents) {
      if (documents.length === 0) return;
      // addDocuments replaces a document with the same id entirely: writing it twice is harmless.
      await client.index(indexName).addDocuments(documents.map(toMeili), { primaryKey: 'id' }).waitTask();
    },

    async remove(indexName, ids) {
      if (ids.length === 0) return;
      await client.index(indexName).deleteDocuments(ids).waitTask();
    },

    async search(query) {
      await ensureLive();
      const paged = query.offset % query.limit === 0;
      const response = await client.index(alias).search(query.q, {
        filter: filterOf(query),
        sort: sortOf(query),
        facets: ['categoryPaths', 'facetValues', `priceBucket.${query.currency}`, 'inStock'],
        // Page-based pagination makes Meilisearch count exactly; offsets only give an estimate.
        ...(paged ? { hitsPerPage: query.limit, page: query.offset / query.limit + 1 } : { limit: query.limit, offset: query.offset }),
        attributesToHighlight: ['title', 'description'],
        attributesToCrop: ['description'],
        cropLength: 30,
        highlightPreTag: pre,
        highlightPostTag: post,
      });
      const distribution = response.facetDistribution ?? {};
      const counts = (facet: string): FacetCount[] =>
        Object.entries(distribution[facet] ?? {})
          .map(([value, count]) => ({ value, count }))
          .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
      const attributes: Record<string, FacetCount[]> = {};
      for (const { value, count } of counts('facetValues')) {
        const at = value.indexOf('=');
        (attributes[value.slice(0, at)] ??= []).push({ value: value.slice(at + 1), count });
      }
      const buckets = distribution[`priceBucket.${query.currency}`] ?? {};
      const total = ((response as { totalHits?: number }).totalHits ?? (response as { estimatedTotalHits?: number }).estimatedTotalHits) ?? 0;
      return {
        hits: response.hits.map((hit) => {
          const formatted = (hit._formatted ?? {}) as Partial<Record<'title' | 'description', string>>;
          const document = fromMeili(hit);
          return {
            document,
            highlights: { title: marked(formatted.title ?? document.title), description: marked(formatted.description ?? document.description) },
          };
        }),
        total,
        facets: {
          categories: counts('categoryPaths'),
          prices: priceBucketBounds.map((min, index) => ({ min, max: priceBucketBounds[index + 1] ?? null, count: buckets[String(min)] ?? 0 })),
          attributes,
          inStock: distribution.inStock?.['true'] ?? 0,
        },
      };
    },

    async getSynonyms() {
      await ensureLive();
      return synonymGroups(await client.index(alias).getSynonyms());
    },

    async setSynonyms(groups) {
      await ensureLive();
      const map = synonymMap(groups);
      for (const uid of await indexUids()) await client.index(uid).updateSynonyms(map).waitTask();
    },

    async createBuildIndex(indexName) {
      await ensureLive();
      await ensureIndex(indexName);
      // A rebuilt index answers with the synonyms the admin set on the live one.
      await client.index(indexName).updateSynonyms(await client.index(alias).getSynonyms()).waitTask();
    },

    async swapLive(indexName) {
      if (indexName === alias) return { replaced: null };
      // A second swap would swap back: an activity retried after a swap that went through must not redo it.
      const earlier = await client.tasks.getTasks({ types: ['indexSwap'], indexUids: [indexName], statuses: ['enqueued', 'processing', 'succeeded'] });
      if (earlier.results.length > 0) {
        for (const task of earlier.results) await client.tasks.waitForTask(task.uid);
        return { replaced: indexName };
      }
      await client.swapIndexes([{ indexes: [alias, indexName], rename: false }]).waitTask();
      // After the swap the build index's name holds the previous live documents.
      return { replaced: indexName };
    },

    async dropIndex(indexName) {
      if (indexName === alias) return;
      await client.deleteIndexIfExists(indexName);
    },
  };
}

import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { MeilisearchRequestError, MeilisearchRequestTimeOutError } from 'meilisearch';
import { createHash } from 'node:crypto';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import { readCacheFor } from '../../platform/cache';
import { DependencyUnavailableError, isConnectionError } from '../../platform/errors';
import { bumpSearchGeneration, publishSearchGeneration } from '../../search/generation';
import { queryWords, type SearchQuery, type SearchResult } from '../../search/types';
import { access } from '../auth';
import type { AppDeps, AppEnv } from '../deps';
import { attributeFilters, attributeParamValues, checkFilterBounds, refuseUnknownParams } from './filter-params';
import { HttpProblem, problem, problems } from '../problem';
import { AdminProblemResponses, Money, ProblemResponses } from '../schemas';

export const searchPath = '/v1/search';
export const synonymsPath = '/v1/admin/search/synonyms';

/** Far above any real search URL; a longer one is refused before anything parses it. */
const maxQueryStringBytes = 4_096;

const money = z.coerce.number().int('must be an integer amount in minor units').min(0, 'must not be negative').max(100_000_000);

const SearchParams = z
  .object({
    q: z.string().max(200).default('').openapi({ description: 'Words to find; typos, accents, prefixes and synonyms are tolerated' }),
    category: z
      .string()
      .max(300)
      .regex(/^[a-z0-9_-]+(\/[a-z0-9_-]+)*$/, 'must be a category path such as sport/chaussures')
      .optional()
      .openapi({ description: 'Category path; products of its subcategories match too' }),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').default('EUR'),
    priceMin: money.optional().openapi({ description: 'Minor units, inclusive, in `currency`' }),
    priceMax: money.optional().openapi({ description: 'Minor units, inclusive, in `currency`' }),
    inStock: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
    sort: z.enum(['relevance', 'price_asc', 'price_desc', 'newest']).default('relevance'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional(),
  })
  // `attr.<name>` parameters are open-ended, as on GET /v1/products; every other unknown parameter is refused by name.
  .catchall(attributeParamValues)
  .superRefine(refuseUnknownParams(new Set(['q', 'category', 'currency', 'priceMin', 'priceMax', 'inStock', 'sort', 'limit', 'cursor'])), { when: () => true })
  .superRefine(checkFilterBounds);

const Highlights = z.object({
  title: z.string().openapi({ description: 'HTML-escaped, with `<mark>` around matched words' }),
  description: z.string().openapi({ description: 'An HTML-escaped excerpt, with `<mark>` around matched words' }),
});

const SearchHit = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    brand: z.string().nullable(),
    categories: z.array(z.string()),
    price: Money.nullable().openapi({ description: 'Lowest price in the requested currency; null when the product has none in it' }),
    priceFrom: z.array(Money),
    inStock: z.boolean(),
    highlights: Highlights,
  })
  .openapi('SearchHit');

const FacetCount = z.object({ value: z.string(), count: z.number().int() });

const SearchPage = z
  .object({
    items: z.array(SearchHit),
    total: z.number().int().openapi({ description: 'Matches over all pages' }),
    facets: z.object({
      categories: z.array(FacetCount),
      prices: z.array(z.object({ min: z.number().int(), max: z.number().int().nullable(), count: z.number().int() })),
      attributes: z.record(z.string(), z.array(FacetCount)),
      inStock: z.number().int(),
    }),
    nextCursor: z.string().nullable(),
  })
  .openapi('SearchPage');

const SynonymGroups = z
  .object({
    groups: z
      .array(z.array(z.string().trim().min(1).max(100)).min(2).max(20))
      .max(500)
      .openapi({ description: 'Each group lists terms a shopper may use for the same thing', example: [['pull', 'sweater', 'chandail']] }),
  })
  .strict()
  .openapi('SynonymGroups');

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function decodeCursor(value: string): number {
  try {
    const { o } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0 && o <= 10_000) return o;
  } catch {
    // fall through to the 400 below
  }
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor this API returned' }], 400));
}

function refuseLongQueryStrings(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    const at = url.indexOf('?');
    if (at >= 0 && url.length - at > maxQueryStringBytes) {
      return problem(c, { status: 414, slug: 'uri-too-long', title: 'URI Too Long', detail: `The query string exceeds ${maxQueryStringBytes} bytes` });
    }
    return next();
  };
}

/** A search backend that cannot be reached is a 503 like any other dependency, not a 500. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionError(error) || error instanceof MeilisearchRequestError || error instanceof MeilisearchRequestTimeOutError) {
      throw new DependencyUnavailableError('search', error);
    }
    throw error;
  }
}

const searchRoute = createRoute({
  method: 'get',
  path: searchPath,
  tags: ['catalog'],
  ...access('public'),
  summary: 'Search published products, with facets',
  description: 'Facet counts cover every match of the query and filters, not only the page returned.',
  middleware: [refuseLongQueryStrings()] as const,
  request: { query: SearchParams },
  responses: {
    200: { description: 'A page of matches with facets', content: { 'application/json': { schema: SearchPage } } },
    414: { description: 'Query string too long', content: ProblemResponses[400].content },
    ...ProblemResponses,
  },
});

const getSynonyms = createRoute({
  method: 'get',
  path: synonymsPath,
  tags: ['admin', 'catalog'],
  summary: 'Synonym groups applied to every search',
  ...access('search:manage'),
  responses: {
    200: { description: 'The synonym groups', content: { 'application/json': { schema: SynonymGroups } } },
    ...AdminProblemResponses,
  },
});

const putSynonyms = createRoute({
  method: 'put',
  path: synonymsPath,
  tags: ['admin', 'catalog'],
  summary: 'Replace every synonym group',
  description: 'Takes effect on the next search, in the live index and in an index being rebuilt.',
  ...access('search:manage'),
  request: { body: { required: true, content: { 'application/json': { schema: SynonymGroups } } } },
  responses: {
    200: { description: 'The stored synonym groups', content: { 'application/json': { schema: SynonymGroups } } },
    ...AdminProblemResponses,
  },
});

/** A ceiling on staleness should a generation's publication be lost; changes retire entries sooner. */
const searchResultTtlSeconds = 60;

/**
 * Search results are cached in Redis under the alias's current generation (search/generation.ts): a
 * shop's searches repeat (the same head queries, each keystroke of search-as-you-type), and a change
 * to the index moves every reader to a new generation at once. Concurrent identical misses share one
 * search. Without Redis the search simply runs.
 */
async function cachedSearch(deps: AppDeps, query: SearchQuery): Promise<SearchResult> {
  const { search, redis, logger } = deps;
  const cache = readCacheFor(redis, logger);
  const generation = await cache.peek(catalogCacheKeys.searchGeneration(search.alias));
  if (generation === undefined) return search.search(query);
  const attributes = Object.entries(query.attributes ?? {})
    .map(([name, values]) => [name, [...values].sort()] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  // Engines read only the query's words, so "Théière  fonte" and "theiere fonte" are one entry.
  const canonical = JSON.stringify([queryWords(query.q), query.category, query.currency, query.priceMin, query.priceMax, attributes, query.inStock, query.sort, query.limit, query.offset]);
  const digest = createHash('sha256').update(canonical).digest('base64url');
  const key = catalogCacheKeys.searchResult(search.alias, generation ?? '0', digest);
  return (await cache.get(key, 'search', searchResultTtlSeconds, () => search.search(query)))!;
}

export function searchRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(searchRoute, async (c) => {
    const params = c.req.valid('query');
    const deps = c.get('deps');
    const offset = params.cursor ? decodeCursor(params.cursor) : 0;
    const result = await guarded(() =>
      cachedSearch(deps, {
        q: params.q,
        category: params.category,
        currency: params.currency,
        priceMin: params.priceMin,
        priceMax: params.priceMax,
        attributes: attributeFilters(params),
        inStock: params.inStock,
        sort: params.sort,
        limit: params.limit,
        offset,
      }),
    );
    const next = offset + result.hits.length;
    return c.json(
      {
        items: result.hits.map(({ document, highlights }) => ({
          id: document.id,
          slug: document.slug,
          title: document.title,
          brand: document.brand,
          categories: document.categoryPaths,
          price: document.prices[params.currency] === undefined ? null : { amount: document.prices[params.currency]!, currency: params.currency },
          priceFrom: Object.entries(document.prices)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([currency, amount]) => ({ amount, currency })),
          inStock: document.inStock,
          highlights,
        })),
        total: result.total,
        facets: result.facets,
        nextCursor: result.hits.length === params.limit && next < result.total ? encodeCursor(next) : null,
      },
      200,
    );
  });

  app.openapi(getSynonyms, async (c) => {
    const { search } = c.get('deps');
    return c.json({ groups: await guarded(() => search.getSynonyms()) }, 200);
  });

  app.openapi(putSynonyms, async (c) => {
    const { search, logger, sql, redis } = c.get('deps');
    // Stored lower-cased and de-duplicated: matching ignores case anyway, and an admin sees what applies.
    const groups = c.req
      .valid('json')
      .groups.map((group) => [...new Set(group.map((term) => term.toLowerCase()))])
      .filter((group) => group.length >= 2);
    await guarded(() => search.setSynonyms(groups));
    await guarded(() => bumpSearchGeneration(sql, search.alias));
    try {
      await publishSearchGeneration(sql, redis, search.alias);
    } catch (error) {
      // The synonyms are stored; the search worker publishes the generation at its next poll.
      logger.warn({ err: { message: (error as Error).message } }, 'search generation not published: cached results may lag up to a minute');
    }
    logger.info({ requestId: c.get('requestId'), groups: groups.length }, 'search synonyms replaced');
    return c.json({ groups: await guarded(() => search.getSynonyms()) }, 200);
  });
}

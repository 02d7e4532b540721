import type postgres from 'postgres';
import {
  facetValuesOf,
  fold,
  priceBucketBounds,
  queryWords,
  type FacetCount,
  type SearchDocument,
  type SearchIndex,
  type SearchQuery,
  type SearchResult,
  type SynonymGroup,
} from './types';

type Sql = postgres.Sql;
/** The pool or a transaction: postgres.js types them apart though both run queries alike. */
type Queryable = postgres.Sql | postgres.TransactionSql;
type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** Typo tolerance is for words long enough to carry one: on short words trigrams match nearly anything. */
const minTypoLength = 5;
/** How alike (trigram similarity) a lexicon word must be to correct a query word, and how many may. */
const typoSimilarity = 0.45;
const maxCorrections = 3;

interface ResolvedQuery {
  /** What a document must match; null when every word is optional. */
  match: string | null;
  /** Any word: what ranking rewards. */
  rank: string;
  corrections: string[];
}

const escapeHtml = (column: Fragment | string, sql: Sql) =>
  sql`replace(replace(replace(${typeof column === 'string' ? sql.unsafe(column) : column}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;

/**
 * Catalog search on Postgres full-text search: stems in French and English, `simple` lexemes for
 * prefixes, trigrams for typos, all on text folded by `catalog.fold()` so accents and case never matter.
 */
export function createPostgresSearchIndex(sql: Sql, alias = 'products'): SearchIndex {
  async function synonymsOf(tx: Queryable): Promise<SynonymGroup[]> {
    const rows = await tx<{ terms: string[] }[]>`
      SELECT terms FROM catalog.search_synonyms WHERE alias = ${alias} ORDER BY position`;
    return rows.map((row) => row.terms);
  }

  /** A term (a synonym, a typo correction) matches as a phrase of exact words or by stem in either language. */
  const termQuery = (term: string) =>
    sql`phraseto_tsquery('simple', ${term}) || plainto_tsquery('french', ${term}) || plainto_tsquery('english', ${term})`;

  /**
   * Typo corrections from the index's lexicon, for each word long enough to carry a typo that no
   * indexed word equals or starts with: a query word that exists is never second-guessed.
   */
  async function correctionsOf(tx: Queryable, indexName: string, words: string[]): Promise<Map<string, string[]>> {
    const candidates = [...new Set(words.filter((word) => word.length >= minTypoLength))];
    if (candidates.length === 0) return new Map();
    const rows = await tx<{ word: string; corrections: string[] }[]>`
      SELECT w.word, array(
          SELECT t.term FROM catalog.search_terms t
          WHERE t.index_name = ${indexName} AND t.term % w.word AND similarity(t.term, w.word) >= ${typoSimilarity}
          ORDER BY similarity(t.term, w.word) DESC, t.term LIMIT ${maxCorrections}) AS corrections
      FROM unnest(${sql.array(candidates)}::text[]) AS w(word)
      WHERE NOT EXISTS (SELECT 1 FROM catalog.search_terms t WHERE t.index_name = ${indexName} AND t.term LIKE w.word || '%')`;
    return new Map(rows.map((row) => [row.word, row.corrections]));
  }

  /**
   * The query as tsquery text, computed once per search rather than once per row: each word matches
   * as written, by stem in either language, through its synonyms or through its typo corrections.
   * In a query of several words a stop word of either language ("de", "the") is not required.
   */
  async function resolveQuery(tx: Queryable, words: string[], synonyms: SynonymGroup[], corrections: Map<string, string[]>): Promise<ResolvedQuery | null> {
    if (words.length === 0) return null;
    const perWord = words.map((word, position) => {
      const corrected = corrections.get(word) ?? [];
      const synonymTerms = [...new Set(synonyms.filter((group) => group.some((term) => fold(term) === word)).flat().map(fold))].filter((term) => term !== word);
      // As the shopper types only the last word is unfinished, so only it matches as a prefix (as in
      // Meilisearch); a prefix is pointless for a word no indexed word starts with.
      const exact = position === words.length - 1 && corrected.length === 0 ? sql`to_tsquery('simple', ${word} || ':*')` : sql`plainto_tsquery('simple', ${word})`;
      // A correction is an indexed word as written, so its exact form is enough to find it.
      const extra = [...synonymTerms.map((term) => sql`|| ${termQuery(term)}`), ...corrected.map((term) => sql`|| plainto_tsquery('simple', ${term})`)];
      return sql`(${exact} || plainto_tsquery('french', ${word}) || plainto_tsquery('english', ${word}) ${joinFragments(extra, ' ')})::text`;
    });
    const stops = words.map((word) => sql`numnode(plainto_tsquery('french', ${word})) = 0 OR numnode(plainto_tsquery('english', ${word})) = 0`);
    const [row] = await tx<{ alternatives: string[]; stops: boolean[] }[]>`
      SELECT ARRAY[${joinFragments(perWord, ',')}]::text[] AS alternatives, ARRAY[${joinFragments(stops, ',')}]::boolean[] AS stops`;
    const required = row!.alternatives.filter((_, i) => words.length === 1 || !row!.stops[i]);
    return {
      match: required.length === 0 ? null : required.map((q) => `(${q})`).join(' & '),
      rank: row!.alternatives.map((q) => `(${q})`).join(' | '),
      corrections: [...corrections.values()].flat(),
    };
  }

  function joinFragments(parts: Fragment[], separator: string): Fragment {
    if (parts.length === 0) return sql``;
    return parts.slice(1).reduce((acc, part) => sql`${acc} ${sql.unsafe(separator)} ${part}`, parts[0]!);
  }

  function filtersOf(query: SearchQuery, resolved: ResolvedQuery | null): Fragment {
    const conditions: Fragment[] = [];
    if (resolved?.match) conditions.push(sql`d.tsv @@ ${resolved.match}::tsquery`);
    if (query.category) conditions.push(sql`d.category_paths @> ${sql.array([query.category])}::text[]`);
    const price = sql`(d.prices ->> ${query.currency})::int`;
    if (query.priceMin !== undefined) conditions.push(sql`${price} >= ${query.priceMin}`);
    if (query.priceMax !== undefined) conditions.push(sql`${price} <= ${query.priceMax}`);
    for (const [key, values] of Object.entries(query.attributes ?? {})) {
      conditions.push(sql`d.facet_values && ${sql.array(values.map((value) => `${key}=${value}`))}::text[]`);
    }
    if (query.inStock !== undefined) conditions.push(sql`d.in_stock = ${query.inStock}`);
    return conditions.length === 0 ? sql`true` : joinFragments(conditions, 'AND');
  }

  /** What ts_headline marks: each word as a prefix, its synonyms, and the words its typos were corrected to. */
  function headlineQuery(words: string[], synonyms: SynonymGroup[], resolved: ResolvedQuery): Fragment {
    const prefixes = words.map((word) => `${word}:*`).join(' | ');
    const phrases = synonyms
      .filter((group) => group.some((term) => words.includes(fold(term))))
      .flat()
      .concat(resolved.corrections)
      .map((term) => sql`|| phraseto_tsquery('catalog.folded', ${fold(term)})`);
    return sql`(to_tsquery('catalog.folded', ${prefixes}) ${joinFragments(phrases, ' ')})`;
  }

  function orderOf(query: SearchQuery, resolved: ResolvedQuery | null): Fragment {
    const price = sql`(d.prices ->> ${query.currency})::int`;
    switch (query.sort) {
      case 'price_asc':
        return sql`${price} ASC NULLS LAST, d.product_id`;
      case 'price_desc':
        return sql`${price} DESC NULLS LAST, d.product_id`;
      case 'newest':
        return sql`d.created_at DESC, d.product_id`;
      case 'relevance':
        if (!resolved) return sql`d.created_at DESC, d.product_id`;
        // Field weights (title, then keywords, then description) and frequency. ts_rank rather than
        // ts_rank_cd: cover density costs three times as much per match for no better order here.
        return sql`ts_rank(d.tsv, ${resolved.rank}::tsquery) DESC, d.created_at DESC, d.product_id`;
    }
  }

  async function liveName(tx: Queryable): Promise<string | undefined> {
    const [row] = await tx<{ name: string }[]>`
      SELECT name FROM catalog.search_indexes WHERE alias = ${alias} AND state = 'live'`;
    return row?.name;
  }

  const emptyResult = (): SearchResult => ({
    hits: [],
    total: 0,
    facets: { categories: [], prices: priceBuckets([]), attributes: {}, inStock: 0 },
  });

  return {
    backend: 'postgres',
    alias,

    async ensureLive() {
      await sql`
        INSERT INTO catalog.search_indexes (name, alias, state) VALUES (${`${alias}__initial`}, ${alias}, 'live')
        ON CONFLICT DO NOTHING`;
      const name = await liveName(sql);
      if (!name) throw new Error(`search index ${alias} has no live index`);
      return name;
    },

    async writeTargets() {
      const rows = await sql<{ name: string }[]>`
        SELECT name FROM catalog.search_indexes WHERE alias = ${alias} AND state IN ('live', 'building') ORDER BY name`;
      return rows.map((row) => row.name);
    },

    async upsert(indexName, documents) {
      if (documents.length === 0) return;
      const rows = documents.map((doc) => ({
        index_name: indexName,
        product_id: doc.id,
        slug: doc.slug,
        title: doc.title,
        description: doc.description,
        brand: doc.brand,
        keywords: [...doc.categoryNames, ...facetValuesOf(doc).map((value) => value.slice(value.indexOf('=') + 1))].join(' '),
        category_paths: doc.categoryPaths,
        facet_values: facetValuesOf(doc),
        // Serialised here: drizzle, sharing this client, turns postgres.js's own JSON serialiser off.
        prices: JSON.stringify(doc.prices),
        in_stock: doc.inStock,
        created_at: doc.createdAt,
        document: JSON.stringify(doc),
      }));
      // Unchanged documents are not rewritten, so re-processing the same outbox rows writes nothing.
      await sql`
        INSERT INTO catalog.search_documents ${sql(rows)}
        ON CONFLICT (index_name, product_id) DO UPDATE SET
          slug = excluded.slug, title = excluded.title, description = excluded.description, brand = excluded.brand,
          keywords = excluded.keywords, category_paths = excluded.category_paths, facet_values = excluded.facet_values,
          prices = excluded.prices, in_stock = excluded.in_stock, created_at = excluded.created_at, document = excluded.document
        WHERE catalog.search_documents.document IS DISTINCT FROM excluded.document`;
      // Their words join the lexicon typos are corrected against; short words and bare numbers would
      // only make corrections noisier.
      await sql`
        INSERT INTO catalog.search_terms (index_name, term)
        SELECT DISTINCT d.index_name, w.term
        FROM catalog.search_documents d,
          unnest(tsvector_to_array(to_tsvector('simple', d.folded || ' ' || catalog.fold(d.description)))) AS w(term)
        WHERE d.index_name = ${indexName} AND d.product_id = ANY(${sql.array(documents.map((doc) => doc.id))}::uuid[])
          AND length(w.term) >= 4 AND w.term !~ '^[0-9]+$'
        ON CONFLICT DO NOTHING`;
    },

    async remove(indexName, ids) {
      if (ids.length === 0) return;
      await sql`DELETE FROM catalog.search_documents WHERE index_name = ${indexName} AND product_id = ANY(${sql.array(ids)}::uuid[])`;
    },

    async search(query) {
      const words = queryWords(query.q);
      // One snapshot for every statement: a swap committing in between cannot mix two indexes.
      return (await sql.begin('isolation level repeatable read read only', async (tx) => {
        // A search is a short OLTP statement: compiling it (the plans of large result sets pass the JIT
        // threshold) costs more than running it.
        const [{ name } = { name: undefined }] = await tx<{ name: string | undefined }[]>`
          SELECT set_config('jit', 'off', true), (SELECT name FROM catalog.search_indexes WHERE alias = ${alias} AND state = 'live') AS name`;
        if (!name) return emptyResult();
        const synonyms = words.length > 0 ? await synonymsOf(tx) : [];
        const resolved = await resolveQuery(tx, words, synonyms, await correctionsOf(tx, name, words));
        const where = filtersOf(query, resolved);
        const hq = resolved ? headlineQuery(words, synonyms, resolved) : undefined;
        const options = 'HighlightAll=true, StartSel=<mark>, StopSel=</mark>';
        const snippet = 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15';
        // Highlights for the page only: ts_headline is by far the dearest expression here.
        const hits = await tx<{ document: SearchDocument; title: string; description: string }[]>`
          SELECT d.document,
            ${hq ? sql`ts_headline('catalog.folded', ${escapeHtml('d.title', sql)}, ${hq}, ${options})` : escapeHtml('d.title', sql)} AS title,
            ${hq ? sql`ts_headline('catalog.folded', ${escapeHtml('d.description', sql)}, ${hq}, ${snippet})` : escapeHtml('d.description', sql)} AS description
          FROM (
            SELECT d.product_id, d.index_name FROM catalog.search_documents d
            WHERE d.index_name = ${name} AND ${where}
            ORDER BY ${orderOf(query, resolved)}
            LIMIT ${query.limit} OFFSET ${query.offset}) page
          JOIN LATERAL (SELECT * FROM catalog.search_documents d WHERE d.index_name = page.index_name AND d.product_id = page.product_id) d ON true
          ORDER BY ${orderOf(query, resolved)}`;
        const [facets] = await tx<{
          total: number;
          in_stock: number;
          categories: FacetCount[];
          values: FacetCount[];
          prices: { bucket: number; count: number }[];
        }[]>`
          WITH matched AS MATERIALIZED (
            SELECT d.category_paths, d.facet_values, d.in_stock, (d.prices ->> ${query.currency})::int AS price
            FROM catalog.search_documents d WHERE d.index_name = ${name} AND ${where})
          SELECT
            (SELECT count(*)::int FROM matched) AS total,
            (SELECT count(*)::int FROM matched WHERE in_stock) AS in_stock,
            (SELECT coalesce(json_agg(json_build_object('value', v, 'count', n) ORDER BY n DESC, v), '[]')
               FROM (SELECT unnest(category_paths) AS v, count(*)::int AS n FROM matched GROUP BY 1) c) AS categories,
            (SELECT coalesce(json_agg(json_build_object('value', v, 'count', n) ORDER BY n DESC, v), '[]')
               FROM (SELECT unnest(facet_values) AS v, count(*)::int AS n FROM matched GROUP BY 1) f) AS values,
            (SELECT coalesce(json_agg(json_build_object('bucket', b, 'count', n)), '[]')
               FROM (
                 SELECT width_bucket(price, ${sql.array([...priceBucketBounds])}::int[]) AS b, count(*)::int AS n
                 FROM matched WHERE price IS NOT NULL GROUP BY 1) p) AS prices`;
        const attributes: Record<string, FacetCount[]> = {};
        for (const { value, count } of facets!.values) {
          const at = value.indexOf('=');
          (attributes[value.slice(0, at)] ??= []).push({ value: value.slice(at + 1), count });
        }
        // width_bucket numbers buckets from 1 for the first bound.
        const prices = facets!.prices.map(({ bucket, count }) => ({ min: priceBucketBounds[bucket - 1]!, count }));
        return {
          hits: hits.map((row) => ({ document: row.document, highlights: { title: row.title, description: row.description } })),
          total: facets!.total,
          facets: { categories: facets!.categories, prices: priceBuckets(prices), attributes, inStock: facets!.in_stock },
        };
      })) as SearchResult;
    },

    async getSynonyms() {
      return synonymsOf(sql);
    },

    async setSynonyms(groups) {
      await sql.begin(async (tx) => {
        await tx`DELETE FROM catalog.search_synonyms WHERE alias = ${alias}`;
        if (groups.length === 0) return;
        await tx`INSERT INTO catalog.search_synonyms ${tx(groups.map((terms, position) => ({ alias, position, terms })))}`;
      });
    },

    async createBuildIndex(indexName) {
      await sql`
        INSERT INTO catalog.search_indexes (name, alias, state) VALUES (${indexName}, ${alias}, 'building')
        ON CONFLICT (name) DO NOTHING`;
    },

    async swapLive(indexName) {
      return sql.begin(async (tx) => {
        // Serialises concurrent swaps of the same alias; readers are not blocked.
        const rows = await tx<{ name: string; state: string }[]>`
          SELECT name, state FROM catalog.search_indexes WHERE alias = ${alias} FOR UPDATE`;
        const target = rows.find((row) => row.name === indexName);
        if (!target) throw new Error(`search index ${indexName} does not exist`);
        if (target.state === 'live') return { replaced: rows.find((row) => row.state === 'retired')?.name ?? null };
        const previous = rows.find((row) => row.state === 'live')?.name ?? null;
        await tx`UPDATE catalog.search_indexes SET state = 'retired', updated_at = now() WHERE alias = ${alias} AND state = 'live'`;
        await tx`UPDATE catalog.search_indexes SET state = 'live', updated_at = now() WHERE name = ${indexName}`;
        return { replaced: previous };
      });
    },

    async dropIndex(indexName) {
      // Never the live one: dropping it would leave search empty.
      await sql`DELETE FROM catalog.search_indexes WHERE name = ${indexName} AND alias = ${alias} AND state <> 'live'`;
    },
  };
}

/** Every bucket, empty ones included, so a shop shows the same price ranges whatever the query. */
function priceBuckets(counts: { min: number; count: number }[]) {
  return priceBucketBounds.map((min, index) => ({
    min,
    max: priceBucketBounds[index + 1] ?? null,
    count: counts.find((bucket) => bucket.min === min)?.count ?? 0,
  }));
}

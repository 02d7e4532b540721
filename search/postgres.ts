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

  /** A word matches by stem (either language), as a prefix, as a synonym, or within one or two typos. */
  function wordMatches(word: string, synonyms: SynonymGroup[], standalone: boolean): Fragment {
    const alternatives = [
      ...new Set(synonyms.filter((group) => group.some((term) => fold(term) === word)).flat().map(fold)),
    ].filter((term) => term !== word);
    const termQueries = alternatives.map(
      (term) => sql`|| phraseto_tsquery('simple', ${term}) || plainto_tsquery('french', ${term}) || plainto_tsquery('english', ${term})`,
    );
    const typo = word.length >= minTypoLength ? sql`OR ${word} <% d.folded` : sql``;
    // In a query of several words, a stop word of either language ("de", "the") is not required to match.
    const optional = standalone ? sql`` : sql`OR numnode(plainto_tsquery('french', ${word})) = 0 OR numnode(plainto_tsquery('english', ${word})) = 0`;
    return sql`(d.tsv @@ (to_tsquery('simple', ${word} || ':*') || plainto_tsquery('french', ${word}) || plainto_tsquery('english', ${word}) ${joinFragments(termQueries, ' ')}) ${typo} ${optional})`;
  }

  function joinFragments(parts: Fragment[], separator: string): Fragment {
    if (parts.length === 0) return sql``;
    return parts.slice(1).reduce((acc, part) => sql`${acc} ${sql.unsafe(separator)} ${part}`, parts[0]!);
  }

  function filtersOf(query: SearchQuery, words: string[], synonyms: SynonymGroup[]): Fragment {
    const conditions: Fragment[] = words.map((word) => wordMatches(word, synonyms, words.length === 1));
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

  /** What ts_headline marks: each word as a prefix, its synonyms, and the document's words it is a typo of. */
  function headlineQuery(words: string[], synonyms: SynonymGroup[]): Fragment {
    const prefixes = words.map((word) => `${word}:*`).join(' | ');
    const phrases = synonyms
      .filter((group) => group.some((term) => words.includes(fold(term))))
      .flat()
      .map((term) => sql`|| phraseto_tsquery('catalog.folded', ${fold(term)})`);
    const typoWords = words.filter((word) => word.length >= minTypoLength);
    const corrections =
      typoWords.length === 0
        ? sql``
        : sql`|| coalesce((
            SELECT to_tsquery('simple', string_agg(quote_literal(l), ' | '))
            FROM unnest(tsvector_to_array(to_tsvector('simple', d.folded || ' ' || catalog.fold(d.description)))) l
            WHERE EXISTS (SELECT 1 FROM unnest(${sql.array(typoWords)}::text[]) w WHERE similarity(l, w) >= 0.45)), ''::tsquery)`;
    return sql`(to_tsquery('catalog.folded', ${prefixes}) ${joinFragments(phrases, ' ')} ${corrections})`;
  }

  function orderOf(query: SearchQuery, words: string[]): Fragment {
    const price = sql`(d.prices ->> ${query.currency})::int`;
    switch (query.sort) {
      case 'price_asc':
        return sql`${price} ASC NULLS LAST, d.product_id`;
      case 'price_desc':
        return sql`${price} DESC NULLS LAST, d.product_id`;
      case 'newest':
        return sql`d.created_at DESC, d.product_id`;
      case 'relevance': {
        if (words.length === 0) return sql`d.created_at DESC, d.product_id`;
        const any = words.map((word) => `${word}:*`).join(' | ');
        // Stems and prefixes weighted by field (title before description), then closeness of spelling
        // so a typo still ranks its intended word first.
        return sql`ts_rank_cd(d.tsv, to_tsquery('simple', ${any}) || plainto_tsquery('french', ${words.join(' ')}) || plainto_tsquery('english', ${words.join(' ')})) * 4
          + word_similarity(${words.join(' ')}, d.folded) DESC, d.created_at DESC, d.product_id`;
      }
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
    },

    async remove(indexName, ids) {
      if (ids.length === 0) return;
      await sql`DELETE FROM catalog.search_documents WHERE index_name = ${indexName} AND product_id = ANY(${sql.array(ids)}::uuid[])`;
    },

    async search(query) {
      const words = queryWords(query.q);
      // One snapshot for every statement: a swap committing in between cannot mix two indexes.
      return (await sql.begin('isolation level repeatable read read only', async (tx) => {
        const name = await liveName(tx);
        if (!name) return emptyResult();
        const synonyms = await synonymsOf(tx);
        const where = filtersOf(query, words, synonyms);
        const matched = sql`SELECT d.* FROM catalog.search_documents d WHERE d.index_name = ${name} AND ${where}`;
        const highlighted = words.length > 0;
        const hq = headlineQuery(words, synonyms);
        const options = 'HighlightAll=true, StartSel=<mark>, StopSel=</mark>';
        const snippet = 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15';
        const hits = await tx<{ document: SearchDocument; title: string; description: string }[]>`
          SELECT d.document,
            ${highlighted ? sql`ts_headline('catalog.folded', ${escapeHtml('d.title', sql)}, ${hq}, ${options})` : escapeHtml('d.title', sql)} AS title,
            ${highlighted ? sql`ts_headline('catalog.folded', ${escapeHtml('d.description', sql)}, ${hq}, ${snippet})` : escapeHtml('d.description', sql)} AS description
          FROM catalog.search_documents d
          WHERE d.index_name = ${name} AND ${where}
          ORDER BY ${orderOf(query, words)}
          LIMIT ${query.limit} OFFSET ${query.offset}`;
        const [facets] = await tx<{
          total: number;
          in_stock: number;
          categories: FacetCount[];
          values: FacetCount[];
          prices: { min: number; count: number }[];
        }[]>`
          WITH matched AS (${matched})
          SELECT
            (SELECT count(*)::int FROM matched) AS total,
            (SELECT count(*)::int FROM matched WHERE in_stock) AS in_stock,
            (SELECT coalesce(json_agg(json_build_object('value', v, 'count', n) ORDER BY n DESC, v), '[]')
               FROM (SELECT unnest(category_paths) AS v, count(*)::int AS n FROM matched GROUP BY 1) c) AS categories,
            (SELECT coalesce(json_agg(json_build_object('value', v, 'count', n) ORDER BY n DESC, v), '[]')
               FROM (SELECT unnest(facet_values) AS v, count(*)::int AS n FROM matched GROUP BY 1) f) AS values,
            (SELECT coalesce(json_agg(json_build_object('min', b, 'count', n)), '[]')
               FROM (
                 SELECT (SELECT max(bound) FROM unnest(${sql.array([...priceBucketBounds])}::int[]) bound
                         WHERE bound <= (m.prices ->> ${query.currency})::int) AS b, count(*)::int AS n
                 FROM matched m WHERE m.prices ? ${query.currency} GROUP BY 1) p) AS prices`;
        const attributes: Record<string, FacetCount[]> = {};
        for (const { value, count } of facets!.values) {
          const at = value.indexOf('=');
          (attributes[value.slice(0, at)] ??= []).push({ value: value.slice(at + 1), count });
        }
        return {
          hits: hits.map((row) => ({ document: row.document, highlights: { title: row.title, description: row.description } })),
          total: facets!.total,
          facets: { categories: facets!.categories, prices: priceBuckets(facets!.prices), attributes, inStock: facets!.in_stock },
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

/**
 * Catalog search, whatever engine answers it. Postgres full-text is the default; Meilisearch takes over
 * when MEILI_HOST is set. Both pass the same contract tests (test/search/contract.test.ts).
 */

/** One published product as search sees it: flattened from the catalog and the stock. */
export interface SearchDocument {
  id: string;
  slug: string;
  title: string;
  description: string;
  brand: string | null;
  /** Every category the product is in, with all its ancestors: `sport`, `sport/chaussures`, `sport/chaussures/running`. */
  categoryPaths: string[];
  /** The names of those categories, in the same order. */
  categoryNames: string[];
  attributes: Record<string, string | number | boolean>;
  /** Every value each variant option takes: `{ size: ['S', 'M'], colour: ['kaki'] }`. */
  options: Record<string, string[]>;
  /** Lowest variant price per currency, integer minor units: `{ EUR: 4990 }`. */
  prices: Record<string, number>;
  inStock: boolean;
  createdAt: string;
}

export type SearchSort = 'relevance' | 'price_asc' | 'price_desc' | 'newest';

export interface SearchQuery {
  q: string;
  /** A category path; products in its descendants match too. */
  category?: string;
  /** Currency of the price filter, the price sort, the price facet and `price` in each hit. */
  currency: string;
  priceMin?: number;
  priceMax?: number;
  /** Attribute or option values: the same key is OR, different keys are AND. */
  attributes?: Record<string, string[]>;
  inStock?: boolean;
  sort: SearchSort;
  limit: number;
  offset: number;
}

export interface SearchHit {
  document: SearchDocument;
  /** The title and description with `<mark>` around the words that matched; HTML in the source is escaped. */
  highlights: { title: string; description: string };
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface PriceBucketCount {
  /** Minor units, inclusive. */
  min: number;
  /** Minor units, exclusive; null for the last bucket. */
  max: number | null;
  count: number;
}

export interface SearchFacets {
  categories: FacetCount[];
  prices: PriceBucketCount[];
  /** Per attribute or option key, its values with their counts. */
  attributes: Record<string, FacetCount[]>;
  inStock: number;
}

export interface SearchResult {
  hits: SearchHit[];
  /** Matches over all pages, for the filters given: the facets count these. */
  total: number;
  facets: SearchFacets;
}

/** A group of interchangeable terms: a query for any one of them finds the others. */
export type SynonymGroup = string[];

/**
 * A logical index (`alias`, e.g. `products`) served by one live physical index at a time. Writes name
 * the physical index they go to; searches always read the live one.
 */
export interface SearchIndex {
  readonly backend: 'postgres' | 'meilisearch';
  readonly alias: string;

  /** The live physical index, created empty on first use so search works before anything is indexed. */
  ensureLive(): Promise<string>;
  /** Where changes must be written now: the live index and any index being built for a reindex. */
  writeTargets(): Promise<string[]>;
  /** Full replacement per id: writing the same document twice changes nothing. */
  upsert(indexName: string, documents: SearchDocument[]): Promise<void>;
  remove(indexName: string, ids: string[]): Promise<void>;
  search(query: SearchQuery): Promise<SearchResult>;

  getSynonyms(): Promise<SynonymGroup[]>;
  /** Replaces every group; the live index and any index being built use them at once. */
  setSynonyms(groups: SynonymGroup[]): Promise<void>;

  /** Creates an empty physical index that receives writes but answers no search until it is swapped in. */
  createBuildIndex(indexName: string): Promise<void>;
  /** Atomically makes `indexName` the live index; returns the physical index it replaced, to drop. */
  swapLive(indexName: string): Promise<{ replaced: string | null }>;
  dropIndex(indexName: string): Promise<void>;
}

/** Price facet buckets, in minor units of the query's currency. */
export const priceBucketBounds = [0, 1_000, 2_500, 5_000, 10_000, 20_000] as const;

export function priceBucketOf(amount: number): { min: number; max: number | null } {
  let index = 0;
  while (index + 1 < priceBucketBounds.length && amount >= priceBucketBounds[index + 1]!) index++;
  return { min: priceBucketBounds[index]!, max: priceBucketBounds[index + 1] ?? null };
}

/** `key=value` strings for attributes and options: one flat list engines can filter and facet on. */
export function facetValuesOf(document: Pick<SearchDocument, 'attributes' | 'options'>): string[] {
  const values = new Set<string>();
  for (const [key, value] of Object.entries(document.attributes)) values.add(`${key}=${String(value)}`);
  for (const [key, list] of Object.entries(document.options)) for (const value of list) values.add(`${key}=${value}`);
  return [...values].sort();
}

/** The words of a query, folded like the index folds text: lower case, no accents. */
export function queryWords(q: string): string[] {
  return fold(q)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0)
    .slice(0, 20);
}

export function fold(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/ß/g, 'ss');
}

/**
 * Redis keys of the catalog read cache. The API reads through them; the searchIndexSync workflow
 * deletes them when the outbox says the data behind them changed.
 */
export const catalogCacheKeys = {
  productBySlug: (slug: string) => `catalog:product:${slug}`,
  categoryTree: () => 'catalog:category-tree',
  /** The generation search results are cached under (search/generation.ts), and one cached result. */
  searchGeneration: (alias: string) => `catalog:search:${alias}:generation`,
  searchResult: (alias: string, generation: string, digest: string) => `catalog:search:${alias}:${generation}:${digest}`,
};

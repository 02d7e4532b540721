import type postgres from 'postgres';
import type { Config } from '../platform/config';
import { createMeilisearchIndex } from './meilisearch';
import { createPostgresSearchIndex } from './postgres';
import type { SearchIndex } from './types';

export type { SearchDocument, SearchIndex, SearchQuery, SearchResult, SearchSort, SynonymGroup } from './types';

/**
 * The catalog's search index: Meilisearch when MEILI_HOST is set, Postgres full-text otherwise.
 * The task-queue prefix also names the index, so processes sharing one database or one Meilisearch
 * (the test files of a run) each search their own.
 */
export function createSearchIndex(config: Config, deps: { sql: postgres.Sql }): SearchIndex {
  const alias = `${config.TASK_QUEUE_PREFIX}products`;
  if (config.MEILI_HOST) return createMeilisearchIndex({ host: config.MEILI_HOST, apiKey: config.MEILI_API_KEY, alias });
  return createPostgresSearchIndex(deps.sql, alias);
}

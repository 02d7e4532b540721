import type { Client, Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Database } from '../platform/postgres';
import type postgres from 'postgres';
import type { SearchIndex } from '../search/types';

/** What the API needs from the outside world; tests pass real ones pointed at their own database, prefix and server. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  sql: postgres.Sql;
  redis: Redis;
  temporal: { client: Client; connection: Connection };
  /** Catalog search: Postgres full-text, or Meilisearch when MEILI_HOST is set. */
  search: SearchIndex;
  metricsRegistry?: Registry;
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    requestId: string;
  };
};

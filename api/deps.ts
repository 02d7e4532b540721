import type { Client, Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Database } from '../platform/postgres';
import type postgres from 'postgres';
import type { SearchIndex } from '../search/types';
import type { Principal } from '../identity/permissions';
import type { TokenService } from '../identity/tokens';

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
  /** Signs and verifies access tokens; caches the signing keys. */
  tokens: TokenService;
  metricsRegistry?: Registry;
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    requestId: string;
    /** Set by `authenticate()` when the request carries a valid access token. */
    principal?: Principal;
  };
};

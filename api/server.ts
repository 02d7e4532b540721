import { serve } from '@hono/node-server';
import { Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { Client } from '@temporalio/client';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import { connectPostgres } from '../platform/postgres';
import { connectRedis, startRedis } from '../platform/redis';
import { createSearchIndex } from '../search/index';
import { setupTelemetry } from '../platform/telemetry';
import { createApp } from './app';
import type { AppDeps } from './deps';
import { TokenService } from '../identity/tokens';

/**
 * Connects everything the API needs without waiting for it: a dependency that is down makes `/readyz`
 * and the routes that need it answer 503, and the process recovers by itself when it comes back.
 */
export function connectApiDeps(config: Config): AppDeps & { close(): Promise<void> } {
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'comptoir-api' });
  const postgres = connectPostgres(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'comptoir-api' });
  const redis = startRedis(connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX), (error) =>
    logger.warn({ err: { message: error.message } }, 'redis connection error'),
  );
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: '3s' });
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
  return {
    config,
    logger,
    db: postgres.db,
    sql: postgres.sql,
    redis,
    temporal: { client, connection },
    search: createSearchIndex(config, { sql: postgres.sql }),
    tokens: new TokenService({ db: postgres.db, config }),
    async close() {
      redis.disconnect();
      await Promise.allSettled([postgres.close(), connection.close()]);
    },
  };
}

export async function startApiServer(config: Config) {
  const telemetry = setupTelemetry({ serviceName: `${config.OTEL_SERVICE_NAME}-api`, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const deps = connectApiDeps(config);
  const app = createApp(deps);
  const server = serve({ fetch: app.fetch, hostname: config.API_HOST, port: config.API_PORT });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  deps.logger.info({ port: config.API_PORT }, 'api listening');

  let stopping: Promise<void> | undefined;
  /** Stops accepting connections, lets in-flight requests finish, then closes the dependencies. */
  const stop = () =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
        (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await deps.close();
      await telemetry.shutdown().catch(() => {});
    })());
  return { app, server, deps, stop };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfig();
  const api = await startApiServer(config);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      api.deps.logger.info({ signal }, 'api shutting down');
      void api.stop().then(() => process.exit(0));
    });
  }
}

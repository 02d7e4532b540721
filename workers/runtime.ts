import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { Config } from '../platform/config';
import { createLogger, type Logger } from '../platform/logger';
import { connectPostgres, type Postgres } from '../platform/postgres';
import { connectRedis, startRedis } from '../platform/redis';
import type { Redis } from 'ioredis';
import { setupTelemetry, type Telemetry } from '../platform/telemetry';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerContext {
  config: Config;
  logger: Logger;
  telemetry: Telemetry;
  otelPlugin: OpenTelemetryPlugin;
  postgres: Postgres;
  /** The catalog read cache, which the search index sync invalidates. */
  redis: Redis;
  connection: NativeConnection;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * The Temporal runtime is process-wide: it is installed once, and exposes the SDK's own worker metrics
 * (task latencies, slots, poll results) on a Prometheus endpoint.
 */
function installRuntime(config: Config): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `0.0.0.0:${config.WORKER_METRICS_PORT}` } },
    },
  });
  runtimeInstalled = true;
}

export async function createWorkerContext(config: Config, options: { telemetry?: Telemetry } = {}): Promise<WorkerContext> {
  installRuntime(config);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'comptoir-worker' });
  const telemetry = options.telemetry ?? setupTelemetry({ serviceName: `${config.OTEL_SERVICE_NAME}-worker`, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const otelPlugin = new OpenTelemetryPlugin({ resource: telemetry.resource, spanProcessor: telemetry.spanProcessor });
  const postgres = connectPostgres(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'comptoir-worker' });
  const redis = startRedis(connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX), (error) =>
    logger.warn({ err: { message: error.message } }, 'redis connection error'),
  );
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  return {
    config,
    logger,
    telemetry,
    otelPlugin,
    postgres,
    redis,
    connection,
    async close() {
      await connection.close();
      redis.disconnect();
      await postgres.close();
    },
  };
}

/** Bundles the workflow code once, with the tracing interceptors in it, so several workers (or test files) can share it. */
export async function bundleWorkflows(otelPlugin: OpenTelemetryPlugin): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, plugins: [otelPlugin], logger: new DefaultLogger('WARN') });
}

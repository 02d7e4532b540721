/**
 * The test harness behind `npm test`: real services only. It makes a fresh Postgres database for the
 * run, a run-specific Redis key prefix, starts a real Temporal dev server on free ports, bundles the
 * workflows once, then runs every `*.test.ts` file with node's test runner and cleans up after itself.
 */
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig, projectRoot } from '../platform/config';
import { dropDatabase, ensureDatabase, migrateDatabase } from '../platform/postgres';
import { registerTemporalConfig } from '../temporal-config/register';
import { bundleWorkflows } from '../workers/runtime';
import { clearRedisPrefix, ensurePostgres, ensureRedis } from './lib/services';
import { ensureTemporalTools } from './lib/tools';

const log = (line: string) => console.log(`[harness] ${line}`);
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const base = loadConfig({ ...process.env, NODE_ENV: 'test' });
const runDir = join(base.DATA_DIR, `test-${runId}`);
mkdirSync(runDir, { recursive: true });

const selected = process.argv.slice(2);
const testFiles = (selected.length > 0 ? selected : readdirSync(join(projectRoot, 'test'), { recursive: true }).map(String))
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => (selected.length > 0 ? file : join('test', file)))
  .sort();

const tools = ensureTemporalTools(log);
await ensurePostgres(base.DATABASE_URL, log);
await ensureRedis(base.REDIS_URL, log);

const databaseUrl = new URL(base.DATABASE_URL);
databaseUrl.pathname = `/comptoir_test_${runId}`;
await ensureDatabase(databaseUrl.toString());
await migrateDatabase(databaseUrl.toString());
log(`database ${databaseUrl.pathname.slice(1)} migrated`);

const namespace = 'comptoir-test';
const temporal = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: { type: 'existing-path', path: tools.cli },
    namespace,
    ip: '127.0.0.1',
    log: { format: 'json', level: 'error' },
    dbFilename: join(runDir, 'temporal.db'),
  },
});
const temporalAddress = temporal.connection.options.address;
await registerTemporalConfig({ address: temporalAddress, namespace });
log(`temporal dev server at ${temporalAddress}, namespace ${namespace}`);

const bundle = await bundleWorkflows(new OpenTelemetryPlugin({ resource: new Resource({}), spanProcessor: new NoopSpanProcessor() }));
const bundlePath = join(runDir, 'workflow-bundle.js');
writeFileSync(bundlePath, bundle.code);

const redisPrefix = `comptoir-test:${runId}:`;
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...testFiles],
  {
    cwd: projectRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: base.REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_CLI_PATH: tools.cli,
      TEMPORAL_TEST_SERVER_PATH: tools.testServer,
      WORKFLOW_BUNDLE_PATH: bundlePath,
      COMPTOIR_TEST_RUN_DIR: runDir,
    },
  },
);
log(`running ${testFiles.length} test files: ${testFiles.map((f) => relative(projectRoot, join(projectRoot, f))).join(' ')}`);

let stopping = false;
const exitCode = await new Promise<number>((resolve) => {
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      child.kill(signal);
    });
  }
});

await temporal.teardown().catch((error) => log(`temporal teardown: ${error}`));
await dropDatabase(databaseUrl.toString()).catch((error) => log(`drop database: ${error}`));
await clearRedisPrefix(base.REDIS_URL, redisPrefix).catch((error) => log(`redis cleanup: ${error}`));
rmSync(runDir, { recursive: true, force: true });
process.exit(stopping ? 130 : exitCode);

import type { Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { startApiServer } from '../../api/server';
import { loadConfig, type Config } from '../../platform/config';
import type { Telemetry } from '../../platform/telemetry';
import { createCatalogWorker } from '../../workers/queues/catalog';
import { createIdentityWorker } from '../../workers/queues/identity';
import { createOrdersWorker } from '../../workers/queues/orders';
import { createPaymentsWorker } from '../../workers/queues/payments';
import { createFulfilmentWorker } from '../../workers/queues/fulfilment';
import { createLoyaltyWorker } from '../../workers/queues/loyalty';
import { createMarketingWorker } from '../../workers/queues/marketing';
import { createWorkerContext } from '../../workers/runtime';

/** Run-wide settings come from the harness (database, Redis prefix, Temporal server); each file gets its own task queues. */
export function testConfig(name: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    TASK_QUEUE_PREFIX: `${name}-${process.pid}-`,
    // Every test talks from 127.0.0.1 through one Redis prefix: the general limit is tested on its own (rate-limits.test.ts).
    RATE_LIMIT_API_PER_MINUTE: '0',
    // Race tests post 100 checkouts at once on purpose; load shedding is tested on its own (checkout-admission.test.ts).
    CHECKOUT_MAX_IN_FLIGHT: '0',
    ...overrides,
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startApi(config: Config) {
  const api = await startApiServer(config);
  const { port } = api.server.address() as AddressInfo;
  return { ...api, baseUrl: `http://127.0.0.1:${port}` };
}

/** A real worker in this process, on the file's own task queue, using the workflow bundle the harness built once. */
export async function startWorker(config: Config, options: { telemetry?: Telemetry } = {}) {
  // Test files run side by side: the worker metrics endpoint (installed once per process) must not fight over the default port.
  const metricsPort = config.WORKER_METRICS_PORT === loadConfig({ ...process.env, NODE_ENV: 'test' }).WORKER_METRICS_PORT ? await freePort() : config.WORKER_METRICS_PORT;
  const context = await createWorkerContext({ ...config, WORKER_METRICS_PORT: metricsPort }, options);
  const bundlePath = config.WORKFLOW_BUNDLE_PATH;
  const bundle = bundlePath ? { codePath: bundlePath } : undefined;
  const worker: Worker = await createCatalogWorker(context, bundle);
  const identityWorker: Worker = await createIdentityWorker(context, bundle);
  const ordersWorker: Worker = await createOrdersWorker(context, bundle);
  const paymentsWorker: Worker = await createPaymentsWorker(context, bundle);
  const fulfilmentWorker: Worker = await createFulfilmentWorker(context, bundle);
  const loyaltyWorker: Worker = await createLoyaltyWorker(context, bundle);
  const marketingWorker: Worker = await createMarketingWorker(context, bundle);
  const all = [worker, identityWorker, ordersWorker, paymentsWorker, fulfilmentWorker, loyaltyWorker, marketingWorker];
  const running = Promise.all(all.map((each) => each.run()));
  return {
    worker,
    identityWorker,
    ordersWorker,
    paymentsWorker,
    fulfilmentWorker,
    loyaltyWorker,
    marketingWorker,
    context,
    async stop() {
      for (const each of all) if (each.getState() === 'RUNNING') each.shutdown();
      await running;
      await context.close();
    },
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/**
 * A real worker process, as `npm run worker` would start it, on the config's task queues; resolves once
 * it polls. `entry` is the worker entry under the project root (the catalog queue's by default,
 * `workers/all.ts` for every queue). Tests kill these with SIGKILL to prove crash recovery.
 */
export async function spawnWorkerProcess(config: Config, entry = 'workers/catalog.ts'): Promise<ChildProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`../../${entry}`, import.meta.url))], {
    env: { ...process.env, TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX, WORKER_METRICS_PORT: String(await freePort()), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor(async () => output.includes('workers running') || child.exitCode !== null, { what: 'worker to start', timeoutMs: 60_000 });
  if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output}`);
  return child;
}

export type DemoProduct = { slug: string; status: string; variants: { sku: string; prices: unknown[]; stock: unknown[] }[] };

/** The demo catalog under its own slugs and SKUs (`crash-…`, `CRASH-…`), so a test's counts come from its own import alone. */
export function prefixedDemoCatalog(prefix: string): DemoProduct[] {
  const demo = JSON.parse(readFileSync(new URL('../../db/seed/demo-catalog.json', import.meta.url), 'utf8')) as DemoProduct[];
  return demo.map((product) => ({
    ...product,
    slug: `${prefix}-${product.slug}`,
    variants: product.variants.map((variant) => ({ ...variant, sku: `${prefix.toUpperCase()}-${variant.sku}` })),
  }));
}

/**
 * For crash tests, inside a `describe`: an API in this process and worker processes the test kills
 * with SIGKILL; whatever is still running is stopped after the suite.
 */
export function crashStage(config: Config) {
  const children: ChildProcess[] = [];
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  before(async () => {
    api = await startApi(config);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await api?.stop();
  });
  return {
    get api() {
      if (!api) throw new Error('the API starts in before()');
      return api;
    },
    async spawnWorker(): Promise<ChildProcess> {
      const child = await spawnWorkerProcess(config);
      children.push(child);
      return child;
    },
  };
}

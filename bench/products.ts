/**
 * `npm run bench`: how much the real product listing costs next to a bare Hono handler.
 *
 * Starts its own stack on 127.0.0.1 — Postgres and Redis (started when installed but stopped), a
 * fresh `comptoir_bench` database, a Temporal dev server with the `comptoir-bench` namespace, the API
 * and the worker as child processes — imports the demo catalog over HTTP, starts the bare Hono
 * baseline (bench/bare-hono.ts) as another child process, then loads both with autocannon from this
 * process: a warm-up, then BENCH_DURATION seconds (default 10) with BENCH_CONNECTIONS connections
 * (default 10). Prints req/s and p50/p95/p99 latencies, and exits 1 when Comptoir answered anything
 * but 2xx. Everything it started is stopped and dropped on exit and on Ctrl-C.
 */
import { devLoaderToken } from '../scripts/lib/loader-token';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePorts } from './harness';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig, projectRoot } from '../platform/config';
import { dropDatabase, ensureDatabase, migrateDatabase } from '../platform/postgres';
import { clearRedisPrefix, ensurePostgres, ensureRedis, stopProcess } from '../scripts/lib/services';
import { ensureTemporalTools } from '../scripts/lib/tools';
import { registerTemporalConfig } from '../temporal-config/register';
import { reindexWorkflowId, reindexWorkflowType, type ReindexResult } from '../workflows/catalog/definitions';
import { growCatalog } from './large-catalog';
import postgres from 'postgres';

const log = (line: string) => console.log(`[bench] ${line}`);

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`[bench] ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const durationSeconds = positiveInt('BENCH_DURATION', 10);
const connections = positiveInt('BENCH_CONNECTIONS', 10);
const productsTarget = positiveInt('BENCH_PRODUCTS', 100_000);
const warmupSeconds = 2;
const namespace = 'comptoir-bench';
const redisPrefix = 'comptoir-bench:';
const host = '127.0.0.1';

const base = loadConfig({ ...process.env, NODE_ENV: 'development' });
const databaseUrl = new URL(base.DATABASE_URL);
databaseUrl.pathname = '/comptoir_bench';

// ---------------------------------------------------------------------------------------------------
// Interruption and cleanup

class Interrupted extends Error {
  override name = 'Interrupted';
}

const abort = new AbortController();
const checkpoint = () => abort.signal.throwIfAborted();
const sleep = (ms: number) => delay(ms, undefined, { signal: abort.signal });

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

const children: Child[] = [];
let temporal: TestWorkflowEnvironment | undefined;
let databaseTouched = false;
let running: autocannon.Instance | undefined;
let stopping = false;

/** Nothing the bench waits for is unbounded, but a watchdog makes sure it always ends by itself. */
const budgetMs = 10 * 60_000 + 2 * (warmupSeconds + durationSeconds) * 1_000;
setTimeout(() => {
  log(`giving up after ${Math.round(budgetMs / 1000)} s`);
  abort.abort(new Error(`the bench did not finish within ${Math.round(budgetMs / 1000)} s`));
  running?.stop();
}, budgetMs).unref();

let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupts += 1;
    if (interrupts === 1) {
      log(`${signal}: stopping and cleaning up …`);
      abort.abort(new Interrupted(signal));
      running?.stop();
    } else {
      log('still cleaning up; one more moment');
    }
  });
}

async function stopChild(child: Child): Promise<void> {
  await stopProcess(child.process, child.name, 10_000, log);
  await child.exited;
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    stopping = true;
    running?.stop();
    await Promise.all(children.map((child) => stopChild(child).catch((error) => log(`stopping ${child.name}: ${error}`))));
    if (temporal) await temporal.teardown().catch((error) => log(`temporal teardown: ${error}`));
    if (databaseTouched) await dropDatabase(databaseUrl.toString()).catch((error) => log(`drop database: ${error}`));
    await clearRedisPrefix(base.REDIS_URL, redisPrefix).catch((error) => log(`redis cleanup: ${error}`));
  })());
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function startChild(name: string, script: string, env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [proc.stdout, proc.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => console.error(`[${name}] ${line}`));
  }
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      if (!stopping && !abort.signal.aborted) {
        log(`${name} exited unexpectedly (${signal ?? `code ${code}`})`);
        abort.abort(new Error(`${name} exited unexpectedly (${signal ?? `code ${code}`})`));
        running?.stop();
      }
      resolve();
    });
    proc.once('error', (error) => {
      log(`${name} could not start: ${error.message}`);
      if (!abort.signal.aborted) abort.abort(error);
      resolve();
    });
  });
  const child = { name, process: proc, exited };
  children.push(child);
  return child;
}

function requestSignal(timeoutMs: number): AbortSignal {
  return AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]);
}

/** Polls `url` until it answers 200, or fails after `timeoutMs`. */
async function waitForOk(name: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    checkpoint();
    try {
      const response = await fetch(url, { signal: requestSignal(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      checkpoint();
      last = (error as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs / 1000} s (${last})`);
}

interface ImportView {
  status: 'received' | 'running' | 'completed' | 'failed';
  totalRows: number;
  importedRows: number;
  failedRows: number;
}

async function importDemoCatalog(apiUrl: string, adminToken: string): Promise<ImportView> {
  const body = readFileSync(join(projectRoot, 'db', 'seed', 'demo-catalog.json'), 'utf8');
  const authorization = `Bearer ${adminToken}`;
  const response = await fetch(`${apiUrl}/v1/admin/catalog/imports`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body,
    signal: requestSignal(30_000),
  });
  const text = await response.text();
  const location = response.headers.get('location');
  if (response.status !== 202 || !location) throw new Error(`the catalog import answered ${response.status}: ${text.slice(0, 500)}`);

  const deadline = Date.now() + 180_000;
  let view = JSON.parse(text) as ImportView;
  while (view.status !== 'completed') {
    if (view.status === 'failed') throw new Error(`the catalog import failed: ${JSON.stringify(view).slice(0, 500)}`);
    if (Date.now() > deadline) throw new Error(`the catalog import is still ${view.status} after 180 s`);
    await sleep(500);
    const poll = await fetch(new URL(location, apiUrl), { headers: { authorization }, signal: requestSignal(10_000) });
    const pollText = await poll.text();
    if (poll.status !== 200) throw new Error(`polling the catalog import answered ${poll.status}: ${pollText.slice(0, 500)}`);
    view = JSON.parse(pollText) as ImportView;
  }
  return view;
}

/** Waits until the API answers `url` within 250 ms again, i.e. until queued work has drained (2 min at most). */
async function settle(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    checkpoint();
    const started = performance.now();
    const response = await fetch(url, { signal: requestSignal(30_000) });
    await response.arrayBuffer();
    if (performance.now() - started < 250) return;
    await sleep(500);
  }
  log('the API is still slow after 2 min of waiting; measuring anyway');
}

interface Target {
  name: string;
  url: string;
  /** When set, each request's path and query (the URL's host stays): for targets that must vary. */
  nextPath?: () => string;
}

interface Measurement {
  target: Target;
  requestsPerSecond: number;
  total: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * One autocannon run. autocannon's result has p50/p97.5/p99 but no p95, so every response time is
 * recorded from the instance's `response` event and the percentiles are computed from those.
 */
async function measure(target: Target, seconds: number): Promise<Measurement> {
  checkpoint();
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const nextPath = target.nextPath;
    const requests = nextPath ? [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: nextPath() }) }] : undefined;
    const instance = autocannon({ url: target.url, connections, duration: seconds, timeout: 10, requests }, (error, outcome) => {
      running = undefined;
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(outcome);
    });
    running = instance;
    instance.on('response', (_client, _statusCode, _resBytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
  checkpoint();
  const sorted = Float64Array.from(latencies).sort();
  return {
    target,
    requestsPerSecond: result.requests.average,
    total: latencies.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function printTable(rows: Measurement[]): void {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const header = ['target', 'req/s (avg)', 'p50', 'p95', 'p99', 'non-2xx', 'errors', 'requests'];
  const body = rows.map((row) => [
    `${row.target.name}  GET ${new URL(row.target.url).pathname}${new URL(row.target.url).search}`,
    row.requestsPerSecond.toFixed(1),
    ms(row.p50),
    ms(row.p95),
    ms(row.p99),
    String(row.non2xx),
    String(row.errors),
    String(row.total),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const cells of body) console.log(line(cells));
  console.log('');
}

// ---------------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  const tools = ensureTemporalTools(log);
  await ensurePostgres(base.DATABASE_URL, log);
  await ensureRedis(base.REDIS_URL, log);
  checkpoint();

  databaseTouched = true;
  await dropDatabase(databaseUrl.toString());
  await ensureDatabase(databaseUrl.toString());
  await migrateDatabase(databaseUrl.toString());
  await clearRedisPrefix(base.REDIS_URL, redisPrefix);
  log(`database ${databaseUrl.pathname.slice(1)} created and migrated`);
  checkpoint();

  temporal = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: tools.cli },
      namespace,
      ip: host,
      log: { format: 'json', level: 'error' },
    },
  });
  const temporalAddress = temporal.connection.options.address;
  await registerTemporalConfig({ address: temporalAddress, namespace });
  log(`temporal dev server at ${temporalAddress}, namespace ${namespace}`);
  checkpoint();

  const [apiPort, metricsPort, barePort] = (await freePorts(3, host)) as [number, number, number];
  const stackEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: base.REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    API_HOST: host,
    API_PORT: String(apiPort),
    WORKER_METRICS_PORT: String(metricsPort),
  };
  // Nothing leaves this machine: no trace export, no external search service.
  delete stackEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete stackEnv.MEILI_HOST;
  delete stackEnv.MEILI_API_KEY;

  // One client address sends thousands of requests a second here: the per-address limit would answer 429s, so it is off.
  startChild('api', 'api/server.ts', { ...stackEnv, RATE_LIMIT_API_PER_MINUTE: '0' });
  startChild('worker', 'workers/all.ts', stackEnv);
  startChild('bare-hono', 'bench/bare-hono.ts', { ...process.env, PORT: String(barePort) });

  const apiUrl = `http://${host}:${apiPort}`;
  const bareUrl = `http://${host}:${barePort}`;
  await waitForOk('the API', `${apiUrl}/readyz`, 90_000);
  log(`api ready at ${apiUrl}`);
  await waitForOk('bare Hono', `${bareUrl}/v1/products`, 60_000);
  log(`bare Hono ready at ${bareUrl}`);

  const importStarted = Date.now();
  const imported = await importDemoCatalog(apiUrl, await devLoaderToken(loadConfig(stackEnv)));
  log(
    `demo catalog imported in ${((Date.now() - importStarted) / 1000).toFixed(1)} s: ` +
      `${imported.importedRows}/${imported.totalRows} rows imported, ${imported.failedRows} failed`,
  );

  // Grow to the benchmark's size in set-based SQL, then rebuild the search index through the reindex
  // workflow, as an operator would after a bulk load.
  const growStarted = Date.now();
  const sql = postgres(databaseUrl.toString(), { max: 2, onnotice: () => {} });
  const productCount = await growCatalog(sql, productsTarget).finally(() => sql.end({ timeout: 5 }));
  log(`catalog grown to ${productCount} products in ${((Date.now() - growStarted) / 1000).toFixed(1)} s`);
  const reindexStarted = Date.now();
  const reindexed = (await temporal.client.workflow.execute(reindexWorkflowType, {
    workflowId: reindexWorkflowId('bench'),
    taskQueue: loadConfig(stackEnv).taskQueues.catalog,
    args: [{ reindexId: 'bench', batchSize: 1_000 }],
  })) as ReindexResult;
  log(`search index rebuilt by the reindex workflow: ${reindexed.indexed} documents in ${((Date.now() - reindexStarted) / 1000).toFixed(1)} s`);
  checkpoint();

  const comptoir: Target = { name: 'comptoir', url: `${apiUrl}/v1/products?limit=20` };
  const search: Target = { name: 'search', url: `${apiUrl}/v1/search?q=chaussure%20cuir&limit=20` };
  const searchTypo: Target = { name: 'search-typo', url: `${apiUrl}/v1/search?q=chausure&limit=20` };
  // Every request a query never asked before (a distinct price ceiling), so the result cache never
  // answers: what the Postgres backend costs by itself, on the heaviest queries of this catalog.
  const coldQueries = ['chaussure%20cuir', 'chausure', 'robe', 'lin', 'theiere%20fonte', 'pull%20laine', 'sac%20a%20dos', 'chaussure%20de%20running'];
  let coldCount = 0;
  const searchCold: Target = {
    name: 'search-cold',
    url: `${apiUrl}/v1/search?q=<rotating>&priceMax=<distinct>&limit=20`,
    nextPath: () => {
      coldCount += 1;
      return `/v1/search?q=${coldQueries[coldCount % coldQueries.length]}&priceMax=${100_000_000 - coldCount}&limit=20`;
    },
  };
  const detail: Target = { name: 'detail', url: `${apiUrl}/v1/products/theiere-fonte` };
  const bare: Target = { name: 'bare-hono', url: `${bareUrl}/v1/products` };
  // Search last: if it saturates Postgres, the other measurements are not skewed by its backlog.
  const targets = [comptoir, detail, bare, search, searchTypo, searchCold];

  const probe = await fetch(comptoir.url, { signal: requestSignal(10_000) });
  const page = (await probe.json()) as { items?: unknown[] };
  if (probe.status !== 200) throw new Error(`GET ${comptoir.url} answered ${probe.status}`);
  log(`GET /v1/products?limit=20 answers ${page.items?.length ?? 0} products`);

  // Warm-up and measurement back to back per target: a warm-up's backlog (requests autocannon gave up
  // on still run on the server) must drain before the next target is measured, not pile onto it.
  const results: Measurement[] = [];
  for (const target of targets) {
    await settle(comptoir.url);
    log(`warm-up: ${warmupSeconds} s on ${target.name}`);
    await measure(target, warmupSeconds);
    await settle(comptoir.url);
    log(`measuring ${target.name}: ${durationSeconds} s, ${connections} connections`);
    results.push(await measure(target, durationSeconds));
  }

  const byName = new Map(results.map((row) => [row.target.name, row]));
  const b = byName.get('bare-hono')!;
  console.log(`\n${productCount} products, ${durationSeconds} s per target, ${connections} connections (servers in child processes, autocannon in this one; p50/p95/p99 from every response time)`);
  printTable(results);
  for (const row of results.filter((r) => r !== b)) {
    console.log(`${row.target.name.padEnd(12)} / bare-hono: req/s ×${(row.requestsPerSecond / b.requestsPerSecond).toFixed(3)}, p50 ×${(row.p50 / b.p50).toFixed(1)}, p99 ×${(row.p99 / b.p99).toFixed(1)}`);
  }
  // The issue's targets on this 2-core machine, reported rather than enforced: a benchmark informs, CI decides.
  const searchP95 = Math.max(byName.get('search')!.p95, byName.get('search-typo')!.p95);
  const detailRatio = byName.get('detail')!.p99 / b.p99;
  console.log(`\ntarget search p95 ≤ 30 ms (Postgres backend, repeated queries served by the result cache): ${searchP95.toFixed(2)} ms → ${searchP95 <= 30 ? 'met' : 'NOT met'}`);
  const cold = byName.get('search-cold')!;
  console.log(`search with no cached answer (every request a new query): p95 ${cold.p95.toFixed(2)} ms → ${cold.p95 <= 30 ? 'within' : 'NOT within'} 30 ms`);
  console.log(`target product detail p99 ≤ 3× bare p99 (warm cache): ×${detailRatio.toFixed(1)} → ${detailRatio <= 3 ? 'met' : 'NOT met'}`);

  const failing = results.filter((row) => row !== b && (row.non2xx > 0 || row.errors > 0));
  if (failing.length > 0) {
    for (const row of failing) console.error(`[bench] FAIL: ${row.target.name} answered ${row.non2xx} non-2xx responses and had ${row.errors} errors/timeouts`);
    return 1;
  }
  return 0;
}

let exitCode: number;
try {
  exitCode = await main();
} catch (error) {
  const reason = abort.signal.aborted ? abort.signal.reason : error;
  if (reason instanceof Interrupted) {
    exitCode = 130;
  } else {
    console.error(`[bench] ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
    exitCode = 1;
  }
}
await cleanup();
log(exitCode === 0 ? 'done; everything stopped and dropped' : `stopped (exit ${exitCode}); everything stopped and dropped`);
process.exit(exitCode);

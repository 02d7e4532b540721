/**
 * `npm start`: the whole platform on one machine. Temporal dev server (or the one at TEMPORAL_ADDRESS),
 * Postgres and Redis checked (local ones started if installed), database migrated, namespace and search
 * attributes registered, API and every worker started, demo catalog imported through the catalogImport
 * workflow once. Ctrl-C stops every child. Running it again is harmless.
 */
import { devLoaderToken } from './lib/loader-token';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, projectRoot } from '../platform/config';
import { connectPostgres, ensureDatabase, migrateDatabase } from '../platform/postgres';
import { temporalAnswers } from '../platform/temporal';
import { registerTemporalConfig } from '../temporal-config/register';
import { ensurePostgres, ensureRedis, MissingServiceError, portOpen, stopProcess } from './lib/services';
import { ensureTemporalTools } from './lib/tools';

const say = (line: string) => console.log(`[comptoir] ${line}`);
const children: { name: string; process: ChildProcess }[] = [];
let shuttingDown = false;

function fail(message: string): never {
  console.error(`[comptoir] ${message}`);
  void shutdown(1);
  throw new Error(message);
}

/** Children's lines are prefixed with their name so one terminal tells them apart. */
function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string): ChildProcess {
  const child = spawn(command, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logFile) {
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  } else {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => console.log(`[${name}] ${line}`));
    }
  }
  child.once('exit', (code, signal) => {
    if (!shuttingDown) {
      console.error(`[comptoir] ${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping everything`);
      void shutdown(1);
    }
  });
  children.push({ name, process: child });
  return child;
}

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  // Reverse order: API and workers drain first, Temporal goes last.
  for (const { name, process: child } of [...children].reverse()) await stopProcess(child, name, 15_000, say);
  process.exit(code);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (shuttingDown) throw new Error('stopping');
    if (Date.now() > deadline) fail(`${what} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

process.once('SIGINT', () => {
  say('stopping …');
  void shutdown(0);
});
process.once('SIGTERM', () => void shutdown(0));

function configOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}
const config = configOrExit();
const dataDir = config.DATA_DIR;
mkdirSync(dataDir, { recursive: true });

// 1. Temporal: the server already at TEMPORAL_ADDRESS, or a dev server of our own with its state under .data/.
let temporalUi = `the Web UI of the Temporal server at ${config.TEMPORAL_ADDRESS}`;
if (await temporalAnswers(config.TEMPORAL_ADDRESS)) {
  say(`using the Temporal server at ${config.TEMPORAL_ADDRESS}`);
} else {
  temporalUi = `http://localhost:${config.TEMPORAL_UI_PORT}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows`;
  const [host, port] = config.TEMPORAL_ADDRESS.split(':');
  if (!['127.0.0.1', 'localhost'].includes(host ?? '')) fail(`no Temporal server answers at ${config.TEMPORAL_ADDRESS}`);
  const tools = ensureTemporalTools(say);
  say(`starting temporal server start-dev on :${port} (Web UI :${config.TEMPORAL_UI_PORT}, state in .data/temporal.db, log in .data/temporal.log)`);
  startChild(
    'temporal',
    tools.cli,
    [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', port ?? '7233',
      '--ui-port', String(config.TEMPORAL_UI_PORT),
      '--db-filename', join(dataDir, 'temporal.db'),
      '--namespace', config.TEMPORAL_NAMESPACE,
      '--log-level', 'warn',
    ],
    process.env,
    join(dataDir, 'temporal.log'),
  );
  await until(() => temporalAnswers(config.TEMPORAL_ADDRESS, 1_000), 60_000, 'the Temporal dev server');
}

// 2. Postgres and Redis.
try {
  await ensurePostgres(config.DATABASE_URL, say);
  await ensureRedis(config.REDIS_URL, say);
} catch (error) {
  if (error instanceof MissingServiceError) fail(error.message);
  throw error;
}

// 3. Database, migrations, namespace and search attributes — each a no-op when already done.
if (await ensureDatabase(config.DATABASE_URL)) say(`created database ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
await migrateDatabase(config.DATABASE_URL);
const { added } = await registerTemporalConfig({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
say(`database migrated; namespace ${config.TEMPORAL_NAMESPACE} ready${added.length ? ` (search attributes added: ${added.join(', ')})` : ''}`);

// 4. The sandbox payment provider, before the API and workers that call it. Its webhooks go to the API,
//    which starts next: the first ones are retried with backoff until it answers.
const pspUrl = new URL(config.PAYMENT_PROVIDER_URL);
if (['127.0.0.1', 'localhost'].includes(pspUrl.hostname)) {
  const pspPort = Number(pspUrl.port || 80);
  if (await portOpen('127.0.0.1', pspPort)) fail(`something already listens on :${pspPort} (PAYMENT_PROVIDER_URL). Stop it or change PAYMENT_PROVIDER_URL.`);
  startChild('payments-sandbox', process.execPath, ['--import', 'tsx', 'sandbox/payment-provider/server.ts'], {
    ...process.env,
    SANDBOX_PSP_HOST: '127.0.0.1',
    SANDBOX_PSP_PORT: String(pspPort),
    SANDBOX_PSP_API_KEY: config.PAYMENT_PROVIDER_API_KEY,
    SANDBOX_PSP_WEBHOOK_SECRET: config.WEBHOOK_SIGNING_SECRET,
    SANDBOX_PSP_WEBHOOK_URL: `http://127.0.0.1:${config.API_PORT}/v1/webhooks/payments`,
  });
  await until(
    async () => {
      try {
        return (await fetch(`${pspUrl.origin}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    30_000,
    'the sandbox payment provider',
  );
  say(`sandbox payment provider on ${pspUrl.origin} (test cards: sandbox/payment-provider/cards.ts)`);
} else {
  say(`using the payment provider at ${config.PAYMENT_PROVIDER_URL}`);
}

// 4b. The sandbox carrier, likewise: it books the parcels and sends their tracking webhooks to the API.
const carrierUrl = new URL(config.CARRIER_URL);
if (['127.0.0.1', 'localhost'].includes(carrierUrl.hostname)) {
  const carrierPort = Number(carrierUrl.port || 80);
  if (await portOpen('127.0.0.1', carrierPort)) fail(`something already listens on :${carrierPort} (CARRIER_URL). Stop it or change CARRIER_URL.`);
  startChild('carrier-sandbox', process.execPath, ['--import', 'tsx', 'sandbox/carrier/server.ts'], {
    ...process.env,
    SANDBOX_CARRIER_HOST: '127.0.0.1',
    SANDBOX_CARRIER_PORT: String(carrierPort),
    SANDBOX_CARRIER_API_KEY: config.CARRIER_API_KEY,
    SANDBOX_CARRIER_WEBHOOK_SECRET: config.WEBHOOK_SIGNING_SECRET,
    SANDBOX_CARRIER_WEBHOOK_URL: `http://127.0.0.1:${config.API_PORT}/v1/webhooks/shipments`,
  });
  await until(
    async () => {
      try {
        return (await fetch(`${carrierUrl.origin}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    30_000,
    'the sandbox carrier',
  );
  say(`sandbox carrier on ${carrierUrl.origin} (parcels move by themselves; test markers: sandbox/carrier/server.ts)`);
} else {
  say(`using the carrier at ${config.CARRIER_URL}`);
}

// 5. API and workers.
if (await portOpen('127.0.0.1', config.API_PORT)) {
  fail(`something already listens on :${config.API_PORT} (another npm start?). Stop it or set API_PORT.`);
}
const childEnv = { ...process.env, NODE_ENV: config.NODE_ENV };
startChild('worker', process.execPath, ['--import', 'tsx', 'workers/all.ts'], childEnv);
startChild('api', process.execPath, ['--import', 'tsx', 'api/server.ts'], childEnv);
const apiUrl = `http://localhost:${config.API_PORT}`;
await until(
  async () => {
    try {
      return (await fetch(`${apiUrl}/readyz`)).ok;
    } catch {
      return false;
    }
  },
  60_000,
  'the API',
);

// 6. Demo catalog, through the same import API and workflow as any catalog — once per version of the file.
const demoBody = readFileSync(join(projectRoot, 'db', 'seed', 'demo-catalog.json'), 'utf8');
const demoKey = `demo-catalog-${createHash('sha256').update(demoBody).digest('hex').slice(0, 16)}`;
const pg = connectPostgres(config.DATABASE_URL, { max: 1 });
const [loaded] = await pg.sql<{ status: string }[]>`SELECT status FROM catalog.imports WHERE idempotency_key = ${demoKey}`;
await pg.close();
if (loaded?.status === 'completed') {
  say('demo catalog already loaded');
} else {
  const headers = { authorization: `Bearer ${await devLoaderToken(config)}`, 'content-type': 'application/json', 'idempotency-key': demoKey };
  const response = await fetch(`${apiUrl}/v1/admin/catalog/imports`, { method: 'POST', headers, body: demoBody });
  if (response.status !== 202) fail(`demo catalog import refused: ${response.status} ${await response.text()}`);
  const location = response.headers.get('location')!;
  const { workflowId } = (await response.json()) as { workflowId: string };
  say(`importing the demo catalog (workflow ${workflowId}) …`);
  let view: { status: string; importedRows: number; failedRows: number } = { status: 'running', importedRows: 0, failedRows: 0 };
  await until(
    async () => {
      view = (await (await fetch(`${apiUrl}${location}`, { headers })).json()) as typeof view;
      return view.status === 'completed';
    },
    300_000,
    'the demo catalog import',
  );
  say(`demo catalog imported: ${view.importedRows} products, ${view.failedRows} rejected`);
}

say('Comptoir is running:');
say(`  API            ${apiUrl}/v1/products`);
say(`  API docs       ${apiUrl}/docs   (OpenAPI: ${apiUrl}/openapi.json)`);
say(`  Health         ${apiUrl}/readyz   metrics ${apiUrl}/metrics   worker metrics http://localhost:${config.WORKER_METRICS_PORT}/metrics`);
say(`  Temporal UI    ${temporalUi}`);
say(`  Staff account  npm run identity -- create-staff --email you@example.com --role admin`);
say('Ctrl-C stops everything.');

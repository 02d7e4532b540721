/**
 * What a benchmark entry needs around its measurement: settings from the environment, child processes
 * whose output is prefixed and whose unexpected exit stops the run, free ports, readiness probes, a
 * watchdog, Ctrl-C handling, and cleanup that always runs (children stopped, then the registered
 * teardowns in reverse order).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { projectRoot } from '../platform/config';
import { stopProcess } from '../scripts/lib/services';

export class Interrupted extends Error {
  override name = 'Interrupted';
}

export function envInt(name: string, fallback: number, log: (line: string) => void): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    log(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

export function envRate(name: string, fallback: number, log: (line: string) => void): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 10_000) {
    log(`${name} must be a number of requests per second (0 < rate ≤ 10000), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

/** Free ports on `host`, all held open at once so none is handed out twice. */
export async function freePorts(count: number, host: string): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('could not get a free port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

export interface Harness {
  signal: AbortSignal;
  checkpoint(): void;
  sleep(ms: number): Promise<void>;
  /** Runs `work` with a signal that aborts with the run or after `timeoutMs` (the error is then a `TimeoutError`). */
  withTimeout<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  startChild(name: string, script: string, env: NodeJS.ProcessEnv): Child;
  children: readonly Child[];
  /** Runs at cleanup, after the children are stopped, last registered first. */
  onCleanup(teardown: () => Promise<unknown>, what: string): void;
  freePorts(count: number, host: string): Promise<number[]>;
  waitForOk(name: string, url: string, timeoutMs: number): Promise<void>;
  /** Runs `main`, cleans up whatever happened, and exits with its code (130 on Ctrl-C, 1 on an error). */
  run(main: () => Promise<number>): Promise<never>;
}

export function createHarness(options: { log: (line: string) => void; budgetMs: number }): Harness {
  const { log } = options;
  const abort = new AbortController();
  // Every request in flight listens for the run's end: hundreds at once under load, none of them a leak.
  setMaxListeners(0, abort.signal);
  const children: Child[] = [];
  const teardowns: { run: () => Promise<unknown>; what: string }[] = [];
  let stopping = false;

  const checkpoint = () => abort.signal.throwIfAborted();
  const sleep = (ms: number) => delay(ms, undefined, { signal: abort.signal });
  // Not AbortSignal.any([…, AbortSignal.timeout()]): on Node 20 the combined signal can be collected
  // and never fire, leaving requests hanging forever. A plain timer, cleared once the work is done.
  async function withTimeout<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    const onAbort = () => controller.abort(abort.signal.reason);
    if (abort.signal.aborted) onAbort();
    else abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await work(controller.signal);
    } finally {
      clearTimeout(timer);
      abort.signal.removeEventListener('abort', onAbort);
    }
  }

  // Nothing the bench waits for is unbounded, but a watchdog makes sure it always ends by itself.
  setTimeout(() => {
    log(`giving up after ${Math.round(options.budgetMs / 1000)} s`);
    abort.abort(new Error(`the bench did not finish within ${Math.round(options.budgetMs / 1000)} s`));
  }, options.budgetMs).unref();

  let interrupts = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupts += 1;
      if (interrupts === 1) {
        log(`${signal}: stopping and cleaning up …`);
        abort.abort(new Interrupted(signal));
      } else {
        log('still cleaning up; one more moment');
      }
    });
  }

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



  async function waitForOk(name: string, url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      checkpoint();
      try {
        const status = await withTimeout(2_000, async (signal) => {
          const response = await fetch(url, { signal });
          await response.arrayBuffer();
          return response.status;
        });
        if (status === 200) return;
        last = `HTTP ${status}`;
      } catch (error) {
        checkpoint();
        last = (error as Error).message;
      }
      await sleep(250);
    }
    throw new Error(`${name} not ready at ${url} after ${timeoutMs / 1000} s (${last})`);
  }

  let cleaning: Promise<void> | undefined;
  function cleanup(): Promise<void> {
    return (cleaning ??= (async () => {
      stopping = true;
      await Promise.all(
        children.map(async (child) => {
          await stopProcess(child.process, child.name, 10_000, log).catch((error) => log(`stopping ${child.name}: ${error}`));
          await child.exited;
        }),
      );
      for (const teardown of [...teardowns].reverse()) await teardown.run().catch((error) => log(`${teardown.what}: ${error}`));
    })());
  }

  async function run(main: () => Promise<number>): Promise<never> {
    let exitCode: number;
    try {
      exitCode = await main();
    } catch (error) {
      const reason = abort.signal.aborted ? abort.signal.reason : error;
      if (reason instanceof Interrupted) {
        exitCode = 130;
      } else {
        log(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason));
        exitCode = 1;
      }
    }
    await cleanup();
    log(exitCode === 0 ? 'done; everything stopped and dropped' : `stopped (exit ${exitCode}); everything stopped and dropped`);
    process.exit(exitCode);
  }

  return {
    signal: abort.signal,
    checkpoint,
    sleep,
    withTimeout,
    startChild,
    children,
    onCleanup: (teardown, what) => teardowns.push({ run: teardown, what }),
    freePorts,
    waitForOk,
    run,
  };
}

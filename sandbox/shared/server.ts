/**
 * Running a sandbox partner as its own process, the same way for each (server.ts of each sandbox is its
 * guide): read `<PREFIX>_*` variables, listen on `<PREFIX>_HOST`:`<PREFIX>_PORT` (0 = any free port),
 * print one JSON line `{"listening":<port>,"url":…}` once connections are accepted, then JSON log lines;
 * SIGTERM or SIGINT stops it.
 */
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, logLevelFrom, type Logger } from './log';
import { SandboxConfigError } from './settings';

export interface SandboxApp {
  app: { fetch: (request: Request) => Response | Promise<Response> };
  /** Stops timers and webhook delivery, so the process can exit. */
  close(): void;
}

export interface SandboxServerOptions<Loaded extends object> {
  /** `sandbox-psp`: on every log line and in front of a start-up error. */
  service: string;
  /** `SANDBOX_PSP`: the prefix of every variable the process reads. */
  envPrefix: string;
  defaultPort: number;
  /** Settings and secrets from the environment; throws `SandboxConfigError` on a bad value. */
  load(env: NodeJS.ProcessEnv): Loaded;
  /** `publicUrl` is where browsers and label printers reach the process; known once it listens. */
  createApp(options: Loaded & { log: Logger; publicUrl: () => string }): SandboxApp;
  /** The start-up log line: its message, and the few settings worth seeing (never a secret). */
  ready: { message: string; fields(loaded: Loaded): Record<string, unknown> };
}

export async function runSandboxServer<Loaded extends object>(options: SandboxServerOptions<Loaded>): Promise<void> {
  const env = process.env;
  const variable = (name: string) => env[`${options.envPrefix}_${name}`];
  const log = createLogger(options.service, logLevelFrom(variable('LOG')));

  let loaded: Loaded;
  try {
    loaded = options.load(env);
  } catch (error) {
    if (!(error instanceof SandboxConfigError)) throw error;
    console.error(`[${options.service}] ${error.message}`);
    process.exit(2);
  }

  const host = variable('HOST') || '127.0.0.1';
  const port = Number(variable('PORT') ?? options.defaultPort);
  let publicUrl = variable('PUBLIC_URL')?.replace(/\/$/, '');

  const sandbox = options.createApp({ ...loaded, log, publicUrl: () => publicUrl ?? '' });
  const server = serve({ fetch: sandbox.app.fetch, hostname: host, port }) as Server;
  // Longer than clients keep idle connections (undici: 4 s), so it is always the client that closes one.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port: actual } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  publicUrl ??= url;
  // The first line on stdout, always (whatever the log level): parents read the port from it.
  process.stdout.write(`${JSON.stringify({ listening: actual, url })}\n`);
  log.info(options.ready.message, { url, ...options.ready.fields(loaded) });

  let stopping = false;
  function stop() {
    if (stopping) return;
    stopping = true;
    sandbox.close();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  }
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

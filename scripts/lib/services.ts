import { execSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import postgres from 'postgres';
import { Redis } from 'ioredis';

export class MissingServiceError extends Error {
  override name = 'MissingServiceError';
}

const isLocal = (host: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function postgresAnswers(url: string): Promise<boolean> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(300);
  }
  return false;
}

const hasCommand = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

/**
 * Postgres must answer at DATABASE_URL. When it is this machine's own server and is installed but
 * stopped, it is started; otherwise one line says what is missing.
 */
export async function ensurePostgres(url: string, log: (line: string) => void = console.log): Promise<void> {
  if (await postgresAnswers(url)) return;
  const { hostname, port } = new URL(url);
  if (isLocal(hostname) && hasCommand('pg_ctlcluster') && existsSync('/etc/postgresql')) {
    for (const version of readdirSync('/etc/postgresql')) {
      log(`starting the local PostgreSQL ${version} cluster …`);
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
    }
    if (await waitFor(() => postgresAnswers(url), 20_000)) return;
  }
  throw new MissingServiceError(
    `PostgreSQL does not answer at ${hostname}:${port || 5432}: install and start PostgreSQL 14+ there, or set DATABASE_URL to one that runs.`,
  );
}

/** Same for Redis at REDIS_URL. */
export async function ensureRedis(url: string, log: (line: string) => void = console.log): Promise<void> {
  if (await redisAnswers(url)) return;
  const { hostname, port } = new URL(url);
  if (isLocal(hostname) && hasCommand('redis-server')) {
    log('starting the local Redis server …');
    execSync(
      `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${port || 6379} --save "" --appendonly no --dir /tmp`,
      { stdio: 'inherit' },
    );
    if (await waitFor(() => redisAnswers(url), 10_000)) return;
  }
  throw new MissingServiceError(`Redis does not answer at ${hostname}:${port || 6379}: install and start Redis 6+ there, or set REDIS_URL to one that runs.`);
}

/** Deletes every key under `prefix`: a test or bench run leaves nothing behind in a shared Redis. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** SIGTERM, so the child drains; SIGKILL if it has not exited after `graceMs`. Resolves once it is gone. */
export async function stopProcess(child: ChildProcess, name: string, graceMs: number, log: (line: string) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${name} did not stop within ${graceMs / 1000} s of SIGTERM: killing it`);
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

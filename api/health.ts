import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { AppDeps, AppEnv } from './deps';
import { problem, problems } from './problem';

type Check = () => Promise<unknown>;

/** A client still connecting (just started, or Redis just came back) is given the check's time to get ready. */
async function redisPing(redis: Redis, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return redis.ping();
}

function withTimeout(check: Check, ms: number): Promise<unknown> {
  return Promise.race([
    check(),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);
}

export async function checkDependencies(deps: AppDeps, timeoutMs = 2_000): Promise<Record<'postgres' | 'redis' | 'temporal', 'up' | 'down'>> {
  const checks: Record<'postgres' | 'redis' | 'temporal', Check> = {
    postgres: () => deps.sql`SELECT 1`,
    redis: () => redisPing(deps.redis, timeoutMs),
    temporal: () =>
      deps.temporal.connection.withDeadline(Date.now() + timeoutMs, () => deps.temporal.connection.healthService.check({})),
  };
  const names = Object.keys(checks) as (keyof typeof checks)[];
  const outcomes = await Promise.allSettled(names.map((name) => withTimeout(checks[name], timeoutMs)));
  return Object.fromEntries(names.map((name, i) => [name, outcomes[i]!.status === 'fulfilled' ? 'up' : 'down'])) as Record<keyof typeof checks, 'up' | 'down'>;
}

export function healthRoutes(app: OpenAPIHono<AppEnv>, registry: Registry) {
  app.get('/healthz', (c) => c.json({ status: 'alive' }));

  app.get('/readyz', async (c) => {
    const checks = await checkDependencies(c.get('deps'));
    const down = Object.entries(checks)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name);
    if (down.length === 0) return c.json({ status: 'ready', checks });
    return problem(c, { ...problems.unavailable(down.join(', ')), extra: { dependency: down.join(', '), checks } });
  });

  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
}

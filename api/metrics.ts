import type { MiddlewareHandler } from 'hono';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AppEnv } from './deps';
import { cacheLookups, cacheLookupsMetric } from '../platform/cache';
import { routeOf } from './route';

export function createHttpMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'comptoir_api_' });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Counted per process by the read cache itself; this registry only exposes it.
  if (!registry.getSingleMetric(cacheLookupsMetric)) registry.registerMetric(cacheLookups);
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const end = duration.startTimer();
    await next();
    // The route pattern, never the raw path: one series per route, whatever ids are in URLs.
    end({ method: c.req.method, route: routeOf(c), status: String(c.res.status) });
  };
  return { registry, middleware };
}

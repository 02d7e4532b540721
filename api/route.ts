import type { Context } from 'hono';

/**
 * The route pattern that answered (`/v1/products/:slug`), or `unmatched`. Read from the matched
 * routes rather than `routePath`, which names the middleware when a handler threw.
 */
export function routeOf(c: Context): string {
  const handler = c.req.matchedRoutes.findLast((route) => route.method !== 'ALL');
  return handler?.path ?? 'unmatched';
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './deps';
import { problem } from './problem';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Temporary guard for admin routes: a single bearer token (ADMIN_TOKEN) until staff accounts with
 * roles replace it. Compared on digests so the comparison takes the same time whatever is sent.
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const expected = digest(c.get('deps').config.ADMIN_TOKEN);
    const header = c.req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!token || !timingSafeEqual(digest(token), expected)) {
      return problem(c, {
        status: 401,
        slug: 'unauthorized',
        title: 'Unauthorized',
        detail: 'This route needs the admin bearer token',
        headers: { 'WWW-Authenticate': 'Bearer realm="comptoir-admin"' },
      });
    }
    return next();
  };
}

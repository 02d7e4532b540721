import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { cartRoutes } from './carts';

/** Carts, checkout and orders. */
export function orderRoutes(app: OpenAPIHono<AppEnv>): void {
  cartRoutes(app);
}

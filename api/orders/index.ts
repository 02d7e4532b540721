import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { cartRoutes } from './carts';
import { checkoutRoutes } from './checkout';
import { orderReadRoutes } from './orders';

/** Carts, checkout and orders. */
export function orderRoutes(app: OpenAPIHono<AppEnv>): void {
  cartRoutes(app);
  checkoutRoutes(app);
  orderReadRoutes(app);
}

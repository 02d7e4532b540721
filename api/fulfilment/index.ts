import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { fulfilmentAdminRoutes } from './admin';
import { trackingRoutes } from './tracking';
import { shipmentWebhookRoutes } from './webhooks';

/** Fulfilment: the carrier's signed webhooks, the order's tracking, and ops decisions on escalated parcels. */
export function fulfilmentRoutes(app: OpenAPIHono<AppEnv>): void {
  shipmentWebhookRoutes(app);
  trackingRoutes(app);
  fulfilmentAdminRoutes(app);
}

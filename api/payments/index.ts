import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { adminWebhookRoutes } from './admin-webhooks';
import { paymentWebhookRoutes } from './webhooks';

/** Payments: the provider's signed webhooks, and the inbox for ops. */
export function paymentRoutes(app: OpenAPIHono<AppEnv>): void {
  paymentWebhookRoutes(app);
  adminWebhookRoutes(app);
}

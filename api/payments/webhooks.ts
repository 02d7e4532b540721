/**
 * The payment provider's webhooks, received as every partner's are (api/partner-webhooks.ts): signature
 * over the raw body first, then stored in the inbox, then handed to the order's payment workflow at once
 * or by the inbox sweeper later when Temporal cannot be reached now.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { signalPaymentEvent, paymentWebhookEventSchema, sandboxWebhookProvider, type WebhookDeliveryOutcome } from '../../activities/payments/webhook-delivery';
import type { PaymentWebhookEvent } from '../../payments/provider';
import type { AppEnv } from '../deps';
import { receivePartnerWebhook, signedWebhookRoute, type PartnerWebhook } from '../partner-webhooks';

export const paymentWebhookPath = '/v1/webhooks/payments';

const paymentWebhookRoute = signedWebhookRoute({
  path: paymentWebhookPath,
  tags: ['payments', 'partners'],
  summary: 'Payment provider events (signed webhook)',
  body: 'Body: a `PaymentWebhookEvent` as JSON (`{id, type, createdAt, data: {providerPaymentId, orderId, amount?, currency?, reason?}}`).',
  receipt: {
    name: 'PaymentWebhookReceipt',
    statusDescription:
      '`delivered` to its payment workflow; `pending`: stored, delivered later; `orphaned`: stored and reported, no payment workflow for it',
  },
});

const paymentWebhook: PartnerWebhook<PaymentWebhookEvent, WebhookDeliveryOutcome> = {
  subject: 'payment',
  provider: sandboxWebhookProvider,
  schema: paymentWebhookEventSchema,
  signal: signalPaymentEvent,
  describe: (event) => ({ orderId: event.data.orderId }),
  orphanedBecause: 'no payment workflow for it',
};

export function paymentWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(paymentWebhookRoute, async (c) => c.json(await receivePartnerWebhook(c, paymentWebhook), 200));
}

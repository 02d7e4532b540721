/**
 * The carrier's tracking webhooks, received as every partner's are (api/partner-webhooks.ts): signature
 * over the raw body first (the shared WEBHOOK_SIGNING_SECRET), then stored in the inbox (provider
 * `sandbox-carrier`), then signalled to its fulfilment (or return) workflow at once, or by the inbox
 * sweeper later. An event for a parcel we do not know is stored as `orphaned` and reported, never dropped.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { carrierWebhookEventSchema, carrierWebhookProvider, signalShipmentEvent, type ShipmentDeliveryOutcome } from '../../activities/fulfilment/webhook-delivery';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import type { AppEnv } from '../deps';
import { receivePartnerWebhook, signedWebhookRoute, type PartnerWebhook } from '../partner-webhooks';

export const shipmentWebhookPath = '/v1/webhooks/shipments';

const shipmentWebhookRoute = signedWebhookRoute({
  path: shipmentWebhookPath,
  tags: ['fulfilment', 'partners'],
  summary: 'Carrier tracking events (signed webhook)',
  body: [
    'Body: a `CarrierTrackingEvent` as JSON (`{id, type, occurredAt, data: {carrierShipmentId, trackingNumber, reference, kind, detail?}}`),',
    '`type` one of picked_up, in_transit, out_for_delivery, delivered, exception, returned_to_sender; `reference` is the shipment id (outbound) or return id (return).',
  ].join(' '),
  receipt: {
    name: 'ShipmentWebhookReceipt',
    statusDescription: '`delivered` to its workflow; `pending`: stored, delivered later; `orphaned`: stored and reported, no shipment or workflow for it',
  },
});

const shipmentWebhook: PartnerWebhook<CarrierTrackingEvent, ShipmentDeliveryOutcome> = {
  subject: 'shipment',
  provider: carrierWebhookProvider,
  schema: carrierWebhookEventSchema,
  signal: signalShipmentEvent,
  // The order comes from our own records (the event names only the shipment or return).
  describe: (event, outcome) => ({ kind: event.data.kind, reference: event.data.reference, orderId: outcome.orderId }),
  orphanedBecause: 'no shipment or workflow for it',
};

export function shipmentWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(shipmentWebhookRoute, async (c) => c.json(await receivePartnerWebhook(c, shipmentWebhook), 200));
}

/**
 * The carrier's tracking webhooks, exactly as the payment provider's (api/payments/webhooks.ts): the
 * caller is authenticated by `Comptoir-Signature` over the raw body (HMAC-SHA256, 5-minute window, the
 * shared WEBHOOK_SIGNING_SECRET), checked before anything parses it. A genuine event is stored in the
 * partner inbox (`ops.webhook_inbox`, provider `sandbox-carrier`), unique per event id, and acknowledged
 * only once stored; it is then signalled to its fulfilment (or return) workflow at once, or by the inbox
 * sweeper later. An event for a parcel we do not know is stored as `orphaned` and reported, never dropped.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { carrierWebhookEventSchema, carrierWebhookProvider, signalShipmentEvent } from '../../activities/fulfilment/webhook-delivery';
import { recordWebhookAttempt, storeWebhookEvent } from '../../db/payments';
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import { signatureHeader, verifyWebhookSignature } from '../../payments/webhook-signature';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { fieldPath, HttpProblem, problems, type ProblemInit } from '../problem';
import { Problem, ProblemResponses } from '../schemas';

export const shipmentWebhookPath = '/v1/webhooks/shipments';

/** Carrier events are a few hundred bytes; anything much larger is not one. */
const maxBodyBytes = 64 * 1024;
/** How long the route waits for Temporal before leaving the event to the sweeper; well inside the sender's own timeout. */
const signalTimeoutMs = 2_500;

const ShipmentWebhookReceipt = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().openapi({ description: 'The event id was received before: nothing was done this time' }),
    status: z.enum(['delivered', 'pending', 'orphaned']).optional().openapi({
      description: '`delivered` to its workflow; `pending`: stored, delivered later; `orphaned`: stored and reported, no shipment or workflow for it',
    }),
  })
  .openapi('ShipmentWebhookReceipt');

const problemContent = { 'application/problem+json': { schema: Problem } };

const shipmentWebhookRoute = createRoute({
  method: 'post',
  path: shipmentWebhookPath,
  tags: ['fulfilment', 'partners'],
  summary: 'Carrier tracking events (signed webhook)',
  description: [
    'Body: a `CarrierTrackingEvent` as JSON (`{id, type, occurredAt, data: {carrierShipmentId, trackingNumber, reference, kind, detail?}}`),',
    '`type` one of picked_up, in_transit, out_for_delivery, delivered, exception, returned_to_sender; `reference` is the shipment id (outbound) or return id (return).',
    'Header `Comptoir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under the shared webhook secret;',
    'a timestamp more than 5 minutes from now is refused. A redelivered event id answers 200 `{duplicate: true}` and does nothing.',
  ].join(' '),
  ...access('public'),
  request: { headers: z.object({ [signatureHeader.toLowerCase()]: z.string().optional().openapi({ example: 't=1700000000,v1=5257a869…' }) }) },
  responses: {
    200: { description: 'Stored (or already stored)', content: { 'application/json': { schema: ShipmentWebhookReceipt } } },
    401: { description: 'Missing, malformed, forged or expired signature', content: problemContent },
    ...ProblemResponses,
    413: { description: 'Body too large', content: problemContent },
  },
});

const signatureProblem = (reason: 'malformed' | 'expired' | 'bad_signature'): ProblemInit => {
  const message = {
    malformed: `missing or malformed; expected "t=<unix seconds>,v1=<hex>"`,
    expired: 'the timestamp is more than 5 minutes away from now',
    bad_signature: 'does not match the body',
  }[reason];
  return {
    status: 401,
    slug: 'invalid-signature',
    title: 'Invalid webhook signature',
    detail: `${signatureHeader} ${message}`,
    errors: [{ in: 'header', field: signatureHeader.toLowerCase(), message }],
  };
};

export function shipmentWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(shipmentWebhookRoute, async (c) => {
    const { config, db, logger, temporal } = c.get('deps');
    const raw = await c.req.text();
    if (Buffer.byteLength(raw) > maxBodyBytes) {
      throw new HttpProblem({ status: 413, slug: 'payload-too-large', title: 'Payload Too Large', detail: `A webhook body is at most ${maxBodyBytes} bytes` });
    }
    const secrets = config.WEBHOOK_SIGNING_SECRET.split(',').map((s) => s.trim()).filter(Boolean);
    const check = verifyWebhookSignature(secrets, c.req.header(signatureHeader), raw, new Date());
    if (!check.ok) {
      logger.warn({ reason: check.reason, requestId: c.get('requestId') }, 'shipment webhook refused');
      throw new HttpProblem(signatureProblem(check.reason));
    }

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new HttpProblem({ status: 400, slug: 'malformed-json', title: 'Malformed JSON', detail: 'The request body is not valid JSON', errors: [{ in: 'body', field: '', message: 'not valid JSON' }] });
    }
    const parsed = carrierWebhookEventSchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpProblem(problems.validation(parsed.error.issues.map((issue) => ({ in: 'body' as const, field: fieldPath(issue.path), message: issue.message }))));
    }
    const event = parsed.data as CarrierTrackingEvent;

    const stored = await storeWebhookEvent(db, { provider: carrierWebhookProvider, eventId: event.id, eventType: event.type, payload: body as Record<string, unknown> });
    if (!stored.stored) {
      logger.info({ eventId: event.id, type: event.type }, 'shipment webhook redelivered; ignored');
      return c.json({ received: true as const, duplicate: true }, 200);
    }

    // Stored and committed: from here on the event cannot be lost, so the answer is 200 whatever happens next.
    let status: 'delivered' | 'pending' | 'orphaned' = 'pending';
    try {
      const outcome = await signalShipmentEvent({ db, client: temporal.client, prefix: config.TASK_QUEUE_PREFIX, signalTimeoutMs }, event);
      await recordWebhookAttempt(db, stored.row.id, outcome);
      status = outcome.status;
      const line = { eventId: event.id, type: event.type, kind: event.data.kind, reference: event.data.reference, orderId: outcome.orderId, status, reason: outcome.error };
      if (status === 'orphaned') logger.warn(line, 'shipment webhook orphaned: no shipment or workflow for it');
      else if (status === 'pending') logger.warn(line, 'shipment webhook stored; delivery left to the sweeper');
      else logger.info(line, 'shipment webhook delivered');
    } catch (error) {
      logger.warn({ eventId: event.id, err: { message: (error as Error).message } }, 'shipment webhook stored; delivery left to the sweeper');
    }
    return c.json({ received: true as const, duplicate: false, status }, 200);
  });
}

/**
 * The payment provider's webhooks. The caller is authenticated by the signature, not a token: the raw
 * body is read exactly as sent and checked against `Comptoir-Signature` (HMAC-SHA256 over
 * `<t>.<raw body>`, 5-minute window) before anything parses it. A genuine event is stored in the inbox,
 * unique per (provider, event id), and acknowledged only once stored; it is then handed to its payment
 * workflow at once, or by the inbox sweeper later when Temporal cannot be reached now.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { signalPaymentEvent, paymentWebhookEventSchema, sandboxWebhookProvider } from '../../activities/payments/webhook-delivery';
import { recordWebhookAttempt, storeWebhookEvent } from '../../db/payments';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { signatureHeader, verifyWebhookSignature } from '../../payments/webhook-signature';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { fieldPath, HttpProblem, problems, type ProblemInit } from '../problem';
import { Problem, ProblemResponses } from '../schemas';

export const paymentWebhookPath = '/v1/webhooks/payments';

/** Provider events are a few hundred bytes; anything much larger is not one. */
const maxBodyBytes = 64 * 1024;
/** How long the route waits for Temporal before leaving the event to the sweeper; well inside the sender's own timeout. */
const signalTimeoutMs = 2_500;

const WebhookReceipt = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().openapi({ description: 'The event id was received before: nothing was done this time' }),
    status: z.enum(['delivered', 'pending', 'orphaned']).optional().openapi({
      description: '`delivered` to its payment workflow; `pending`: stored, delivered later; `orphaned`: stored and reported, no payment workflow for it',
    }),
  })
  .openapi('PaymentWebhookReceipt');

const problemContent = { 'application/problem+json': { schema: Problem } };

const paymentWebhookRoute = createRoute({
  method: 'post',
  path: paymentWebhookPath,
  tags: ['payments', 'partners'],
  summary: 'Payment provider events (signed webhook)',
  description: [
    'Body: a `PaymentWebhookEvent` as JSON (`{id, type, createdAt, data: {providerPaymentId, orderId, amount?, currency?, reason?}}`).',
    'Header `Comptoir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under the shared webhook secret;',
    'a timestamp more than 5 minutes from now is refused. A redelivered event id answers 200 `{duplicate: true}` and does nothing.',
  ].join(' '),
  ...access('public'),
  request: { headers: z.object({ [signatureHeader.toLowerCase()]: z.string().optional().openapi({ example: 't=1700000000,v1=5257a869…' }) }) },
  responses: {
    200: { description: 'Stored (or already stored)', content: { 'application/json': { schema: WebhookReceipt } } },
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
    // Not `unauthorized`: no access token is involved, the request itself is not genuine.
    slug: 'invalid-signature',
    title: 'Invalid webhook signature',
    detail: `${signatureHeader} ${message}`,
    errors: [{ in: 'header', field: signatureHeader.toLowerCase(), message }],
  };
};

export function paymentWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(paymentWebhookRoute, async (c) => {
    const { config, db, logger, temporal } = c.get('deps');
    const raw = await c.req.text();
    if (Buffer.byteLength(raw) > maxBodyBytes) {
      throw new HttpProblem({ status: 413, slug: 'payload-too-large', title: 'Payload Too Large', detail: `A webhook body is at most ${maxBodyBytes} bytes` });
    }
    // Several secrets, comma-separated, while one is being rotated.
    const secrets = config.WEBHOOK_SIGNING_SECRET.split(',').map((s) => s.trim()).filter(Boolean);
    const check = verifyWebhookSignature(secrets, c.req.header(signatureHeader), raw, new Date());
    if (!check.ok) {
      logger.warn({ reason: check.reason, requestId: c.get('requestId') }, 'payment webhook refused');
      throw new HttpProblem(signatureProblem(check.reason));
    }

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new HttpProblem({ status: 400, slug: 'malformed-json', title: 'Malformed JSON', detail: 'The request body is not valid JSON', errors: [{ in: 'body', field: '', message: 'not valid JSON' }] });
    }
    const parsed = paymentWebhookEventSchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpProblem(problems.validation(parsed.error.issues.map((issue) => ({ in: 'body' as const, field: fieldPath(issue.path), message: issue.message }))));
    }
    const event = parsed.data as PaymentWebhookEvent;

    const stored = await storeWebhookEvent(db, { provider: sandboxWebhookProvider, eventId: event.id, eventType: event.type, payload: body as Record<string, unknown> });
    if (!stored.stored) {
      logger.info({ eventId: event.id, type: event.type }, 'payment webhook redelivered; ignored');
      return c.json({ received: true as const, duplicate: true }, 200);
    }

    // Stored and committed: from here on the event cannot be lost, so the answer is 200 whatever happens next.
    let status: 'delivered' | 'pending' | 'orphaned' = 'pending';
    try {
      const outcome = await signalPaymentEvent({ db, client: temporal.client, prefix: config.TASK_QUEUE_PREFIX, signalTimeoutMs }, event);
      await recordWebhookAttempt(db, stored.row.id, outcome);
      status = outcome.status;
      const line = { eventId: event.id, type: event.type, orderId: event.data.orderId, status, reason: outcome.error };
      if (status === 'orphaned') logger.warn(line, 'payment webhook orphaned: no payment workflow for it');
      else if (status === 'pending') logger.warn(line, 'payment webhook stored; delivery left to the sweeper');
      else logger.info(line, 'payment webhook delivered');
    } catch (error) {
      logger.warn({ eventId: event.id, err: { message: (error as Error).message } }, 'payment webhook stored; delivery left to the sweeper');
    }
    return c.json({ received: true as const, duplicate: false, status }, 200);
  });
}

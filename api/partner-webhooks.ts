/**
 * Partners' signed webhooks (the payment provider's, the carrier's), received one way. The caller is
 * authenticated by the signature, not a token: the raw body is read exactly as sent and checked against
 * `Comptoir-Signature` (HMAC-SHA256 over `<t>.<raw body>`, 5-minute window, payments/webhook-signature.ts)
 * before anything parses it. A genuine event is stored in the partner inbox (`ops.webhook_inbox`), unique
 * per (provider, event id), and acknowledged only once stored; it is then handed to its workflow at once,
 * or by the inbox sweeper later when Temporal cannot be reached now. An event nobody waits for is stored
 * as `orphaned` and reported, never dropped.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { recordWebhookAttempt, storeWebhookEvent, type WebhookStatus } from '../db/payments';
import { signatureHeader, verifyWebhookSignature } from '../payments/webhook-signature';
import type { Executor } from '../platform/postgres';
import { access } from './auth';
import type { AppEnv } from './deps';
import { fieldPath, HttpProblem, problems, type ProblemInit } from './problem';
import { Problem, ProblemResponses } from './schemas';

/** Partner events are a few hundred bytes; anything much larger is not one. */
const maxBodyBytes = 64 * 1024;
/** How long the route waits for Temporal before leaving the event to the sweeper; well inside the sender's own timeout. */
const signalTimeoutMs = 2_500;

const problemContent = { 'application/problem+json': { schema: Problem } };

export interface SignedWebhookRouteSpec<Path extends string> {
  path: Path;
  tags: string[];
  summary: string;
  /** What the body is; the signature and redelivery rules are added after it. */
  body: string;
  /** The receipt's OpenAPI name, and what `delivered` and `orphaned` mean for this partner. */
  receipt: { name: string; statusDescription: string };
}

/** The OpenAPI route of a partner's webhook: public (the signature authenticates), answered with a receipt. */
export function signedWebhookRoute<Path extends string>(spec: SignedWebhookRouteSpec<Path>) {
  const receipt = z
    .object({
      received: z.literal(true),
      duplicate: z.boolean().openapi({ description: 'The event id was received before: nothing was done this time' }),
      status: z.enum(['delivered', 'pending', 'orphaned']).optional().openapi({ description: spec.receipt.statusDescription }),
    })
    .openapi(spec.receipt.name);
  return createRoute({
    method: 'post',
    path: spec.path,
    tags: spec.tags,
    summary: spec.summary,
    description: [
      spec.body,
      'Header `Comptoir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under the shared webhook secret;',
      'a timestamp more than 5 minutes from now is refused. A redelivered event id answers 200 `{duplicate: true}` and does nothing.',
    ].join(' '),
    ...access('public'),
    request: { headers: z.object({ [signatureHeader.toLowerCase()]: z.string().optional().openapi({ example: 't=1700000000,v1=5257a869…' }) }) },
    responses: {
      200: { description: 'Stored (or already stored)', content: { 'application/json': { schema: receipt } } },
      401: { description: 'Missing, malformed, forged or expired signature', content: problemContent },
      ...ProblemResponses,
      413: { description: 'Body too large', content: problemContent },
    },
  });
}

export type WebhookReceipt = { received: true; duplicate: boolean; status?: WebhookStatus };

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

export interface PartnerDeliveryDeps {
  db: Executor;
  client: Client;
  /** `config.TASK_QUEUE_PREFIX`: part of every workflow id. */
  prefix: string;
  signalTimeoutMs: number;
}

export interface PartnerWebhook<Event extends { id: string; type: string }, Outcome extends { status: WebhookStatus; error?: string }> {
  /** What the log lines call the event: `payment`, `shipment`. */
  subject: string;
  /** The provider name the inbox files these events under. */
  provider: string;
  /** What an event must look like before it is stored; anything else is the sender's bug (422). */
  schema: z.ZodType;
  /** Hands the stored event to its workflow and says what became of it; never throws for Temporal's sake. */
  signal(deps: PartnerDeliveryDeps, event: Event): Promise<Outcome>;
  /** The fields of the delivery log line that say what the event is about (order, parcel …). */
  describe(event: Event, outcome: Outcome): Record<string, unknown>;
  /** Why an orphaned event had nowhere to go, for the log line. */
  orphanedBecause: string;
}

/** Verifies, stores and delivers one webhook request; throws `HttpProblem` for a request that is refused. */
export async function receivePartnerWebhook<Event extends { id: string; type: string }, Outcome extends { status: WebhookStatus; error?: string }>(
  c: Context<AppEnv>,
  webhook: PartnerWebhook<Event, Outcome>,
): Promise<WebhookReceipt> {
  const { config, db, logger, temporal } = c.get('deps');
  const raw = await c.req.text();
  if (Buffer.byteLength(raw) > maxBodyBytes) {
    throw new HttpProblem({ status: 413, slug: 'payload-too-large', title: 'Payload Too Large', detail: `A webhook body is at most ${maxBodyBytes} bytes` });
  }
  // Several secrets, comma-separated, while one is being rotated.
  const secrets = config.WEBHOOK_SIGNING_SECRET.split(',').map((s) => s.trim()).filter(Boolean);
  const check = verifyWebhookSignature(secrets, c.req.header(signatureHeader), raw, new Date());
  if (!check.ok) {
    logger.warn({ reason: check.reason, requestId: c.get('requestId') }, `${webhook.subject} webhook refused`);
    throw new HttpProblem(signatureProblem(check.reason));
  }

  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HttpProblem({ status: 400, slug: 'malformed-json', title: 'Malformed JSON', detail: 'The request body is not valid JSON', errors: [{ in: 'body', field: '', message: 'not valid JSON' }] });
  }
  const parsed = webhook.schema.safeParse(body);
  if (!parsed.success) {
    throw new HttpProblem(problems.validation(parsed.error.issues.map((issue) => ({ in: 'body' as const, field: fieldPath(issue.path), message: issue.message }))));
  }
  const event = parsed.data as Event;

  const stored = await storeWebhookEvent(db, { provider: webhook.provider, eventId: event.id, eventType: event.type, payload: body as Record<string, unknown> });
  if (!stored.stored) {
    logger.info({ eventId: event.id, type: event.type }, `${webhook.subject} webhook redelivered; ignored`);
    return { received: true, duplicate: true };
  }

  // Stored and committed: from here on the event cannot be lost, so the answer is 200 whatever happens next.
  let status: WebhookStatus = 'pending';
  try {
    const outcome = await webhook.signal({ db, client: temporal.client, prefix: config.TASK_QUEUE_PREFIX, signalTimeoutMs }, event);
    await recordWebhookAttempt(db, stored.row.id, outcome);
    status = outcome.status;
    const line = { eventId: event.id, type: event.type, ...webhook.describe(event, outcome), status, reason: outcome.error };
    if (status === 'orphaned') logger.warn(line, `${webhook.subject} webhook orphaned: ${webhook.orphanedBecause}`);
    else if (status === 'pending') logger.warn(line, `${webhook.subject} webhook stored; delivery left to the sweeper`);
    else logger.info(line, `${webhook.subject} webhook delivered`);
  } catch (error) {
    logger.warn({ eventId: event.id, err: { message: (error as Error).message } }, `${webhook.subject} webhook stored; delivery left to the sweeper`);
  }
  return { received: true, duplicate: false, status };
}

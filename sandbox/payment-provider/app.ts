/**
 * The sandbox provider's HTTP surface (see server.ts for the guide). Routes are thin: check the key,
 * parse the body, run the operation through the idempotency keys, answer JSON.
 */
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { bearerMatches, bodyOf, createSandboxHono, errorBody, idempotencyKeyOf, reply, requireServerKey } from '../shared/http';
import { IdempotencyKeys, type StoredAnswer } from '../shared/idempotency';
import type { Logger } from '../shared/log';
import { WebhookSender } from '../shared/webhook-sender';
import { passesLuhn } from './cards';
import { PaymentBook, ProviderError, type Payment } from './payments';
import { settingsPatch, type SandboxSecrets, type SandboxSettings } from './settings';

const amount = z.number().int().positive().max(100_000_000_00);
const currency = z.string().regex(/^[A-Z]{3}$/);

const tokenBody = z
  .object({
    // Spaces and dashes as people type them; the rest must be digits.
    number: z.string().max(32).transform((n) => n.replace(/[\s-]/g, '')),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(0).max(2100).transform((y) => (y < 100 ? 2000 + y : y)),
    cvc: z.string().regex(/^\d{3,4}$/),
  })
  .strict();
const authoriseBody = z.object({ token: z.string().min(1).max(100), amount, currency, orderId: z.string().min(1).max(200) }).strict();
const captureBody = z.object({ amount: amount.optional(), currency: currency.optional() }).strict();
const voidBody = z.object({}).strict();
const refundBody = z.object({ amount, currency: currency.optional() }).strict();
const confirmBody = z.object({ outcome: z.enum(['succeed', 'fail']) }).strict();

const unavailable: StoredAnswer = { status: 503, body: errorBody('provider_unavailable', 'the provider is unavailable; retry with the same Idempotency-Key') };

/** Business refusals are answers too, and are kept under the idempotency key like successes. */
async function answer(work: () => StoredAnswer | Promise<StoredAnswer>): Promise<StoredAnswer> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProviderError) return { status: error.status, body: errorBody(error.code, error.message) };
    throw error;
  }
}

const paymentView = (p: Payment, actionUrl: string) => ({
  id: p.id,
  object: 'payment',
  status: p.status,
  amount: p.amount,
  currency: p.currency,
  orderId: p.orderId,
  ...(p.status === 'requires_action' ? { action_url: actionUrl } : {}),
  ...(p.declineReason ? { reason: p.declineReason } : {}),
  capturedAmount: p.capturedAmount,
  refundedAmount: p.refundedAmount,
  card: p.card,
  createdAt: p.createdAt,
});

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>${title}</h1>${body}</body></html>`;

export interface SandboxOptions {
  settings: SandboxSettings;
  secrets: SandboxSecrets;
  log: Logger;
  /** Where shoppers reach this process (for 3-D Secure action URLs); known once the server listens. */
  publicUrl: () => string;
}

export function createSandboxApp({ settings, secrets, log, publicUrl }: SandboxOptions) {
  // Payment webhooks: a payment's events go out in order, one at a time.
  const dispatcher = new WebhookSender<PaymentWebhookEvent, 'providerPaymentId'>({
    settings: () => settings,
    secrets: secrets.webhookSecrets,
    log,
    subject: 'providerPaymentId',
    userAgent: 'comptoir-sandbox-psp/1',
  });
  const book = new PaymentBook((event) => dispatcher.emit(event));
  const keys = new IdempotencyKeys();
  const flakyAttempts = new Map<string, number>();
  const timers = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  const actionUrl = (id: string) => `${publicUrl()}/3ds/${id}`;

  /** A timer that close() cuts short, so a hanging request does not hold the process open. */
  const wait = (ms: number, then: () => void = () => {}) =>
    new Promise<void>((resolve) => {
      const entry = {
        done: () => {
          timers.delete(entry);
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          timers.delete(entry);
          then();
          resolve();
        }, ms),
      };
      timers.add(entry);
    });

  const app = createSandboxHono(log);

  // Tokenisation: called by the shopper's browser, with the publishable key when one is configured.
  app.use('/v1/tokens', cors({ origin: '*', allowMethods: ['POST'], allowHeaders: ['content-type', 'authorization'] }));
  app.post('/v1/tokens', async (c) => {
    if (secrets.publishableKey && !bearerMatches(c.req.header('authorization'), [secrets.publishableKey, secrets.apiKey])) {
      throw new ProviderError(401, 'unauthorized', 'a valid publishable key is required');
    }
    if (settings.outage) return c.json(unavailable.body as object, 503);
    const card = await bodyOf(c, tokenBody);
    if (!passesLuhn(card.number)) throw new ProviderError(400, 'invalid_card_number', 'the card number is not valid');
    const token = book.tokenise(card);
    return c.json({ token: token.id, brand: token.brand, last4: token.last4, expMonth: card.expMonth, expYear: card.expYear }, 201);
  });

  // Everything else under /v1 is server-to-server: the secret key.
  app.use('/v1/*', requireServerKey({ apiKey: secrets.apiKey, keyName: 'secret key', outage: () => settings.outage, unavailable: unavailable.body as object, except: ['/v1/tokens'] }));

  app.post('/v1/payments', async (c) => {
    const key = idempotencyKeyOf(c);
    const input = await bodyOf(c, authoriseBody);
    const result = await keys.run(key, 'POST /v1/payments', input, () =>
      answer(async () => {
        const token = book.token(input.token);
        if (token.behaviour === 'timeout') {
          if (settings.timeoutCard === 'hang') await wait(settings.hangMs);
          return unavailable;
        }
        if (token.behaviour === 'flaky') {
          const attempt = (flakyAttempts.get(key) ?? 0) + 1;
          flakyAttempts.set(key, attempt);
          if (attempt <= settings.flakyFailures) return unavailable;
          flakyAttempts.delete(key);
        }
        const payment = book.authorise({ token, amount: input.amount, currency: input.currency, orderId: input.orderId });
        if (payment.status === 'requires_action' && settings.threeDSecureDelayMs !== null) {
          void wait(settings.threeDSecureDelayMs, () => {
            if (book.payment(payment.id).status === 'requires_action') book.confirm(payment.id, 'succeed');
          });
        }
        return { status: 201, body: paymentView(payment, actionUrl(payment.id)) };
      }),
    );
    return reply(c, result);
  });

  app.get('/v1/payments/:id', (c) => {
    const payment = book.payment(c.req.param('id'));
    return c.json(paymentView(payment, actionUrl(payment.id)));
  });

  app.post('/v1/payments/:id/capture', async (c) => {
    const key = idempotencyKeyOf(c);
    const id = c.req.param('id');
    const input = await bodyOf(c, captureBody);
    const result = await keys.run(key, `POST /v1/payments/${id}/capture`, input, () =>
      answer(() => {
        const { payment, captureId, amount } = book.capture(id, input);
        return { status: 200, body: { id: captureId, object: 'capture', paymentId: payment.id, status: 'captured', amount, currency: payment.currency } };
      }),
    );
    return reply(c, result);
  });

  app.post('/v1/payments/:id/void', async (c) => {
    const key = idempotencyKeyOf(c);
    const id = c.req.param('id');
    const input = await bodyOf(c, voidBody);
    const result = await keys.run(key, `POST /v1/payments/${id}/void`, input, () =>
      answer(() => {
        const payment = book.void(id);
        return { status: 200, body: { paymentId: payment.id, object: 'void', status: 'voided' } };
      }),
    );
    return reply(c, result);
  });

  app.post('/v1/payments/:id/refunds', async (c) => {
    const key = idempotencyKeyOf(c);
    const id = c.req.param('id');
    const input = await bodyOf(c, refundBody);
    const result = await keys.run(key, `POST /v1/payments/${id}/refunds`, input, () =>
      answer(() => {
        const { payment, refundId } = book.refund(id, input);
        return {
          status: 201,
          body: { id: refundId, object: 'refund', paymentId: payment.id, status: 'refunded', amount: input.amount, currency: payment.currency, refundedAmount: payment.refundedAmount },
        };
      }),
    );
    return reply(c, result);
  });

  // Test routes: what a provider's dashboard and test helpers offer. Same secret key.
  const fullView = (p: Payment) => ({
    ...paymentView(p, actionUrl(p.id)),
    captureCount: p.captures.length,
    captures: p.captures,
    refunds: p.refunds,
    voidedAt: p.voidedAt ?? null,
    updatedAt: p.updatedAt,
    events: dispatcher.events.filter((e) => e.data.providerPaymentId === p.id),
    deliveries: dispatcher.attempts.filter((a) => a.providerPaymentId === p.id),
  });

  app.get('/v1/test/payments', (c) => c.json({ data: book.find({ orderId: c.req.query('orderId') }).map(fullView) }));
  app.get('/v1/test/payments/:id', (c) => c.json(fullView(book.payment(c.req.param('id')))));
  app.post('/v1/test/payments/:id/confirm', async (c) => {
    const { outcome } = await bodyOf(c, confirmBody);
    return c.json(fullView(book.confirm(c.req.param('id'), outcome)));
  });
  app.get('/v1/test/webhooks', (c) => c.json({ events: dispatcher.events, deliveries: dispatcher.attempts }));
  app.get('/v1/test/settings', (c) => c.json(settings));
  const changeSettings = async (c: Context) => {
    Object.assign(settings, await bodyOf(c, settingsPatch));
    log.info('settings changed', { settings });
    return c.json(settings);
  };
  app.post('/v1/test/settings', changeSettings);
  app.post('/v1/test/chaos', changeSettings);

  // The page a 3-D Secure action URL opens: the shopper (or a test) confirms or fails the payment.
  app.get('/3ds/:id', (c) => {
    const payment = book.payment(c.req.param('id'));
    if (payment.status !== 'requires_action') return c.html(page('Nothing to confirm', `<p>This payment is ${payment.status}.</p>`), 409);
    const form = (outcome: string, label: string) => `<form method="post" style="display:inline"><input type="hidden" name="outcome" value="${outcome}"><button>${label}</button></form> `;
    return c.html(
      page('Sandbox 3-D Secure', `<p>Confirm a payment of ${payment.amount} (minor units) ${payment.currency}, card •••• ${payment.card.last4}.</p>${form('succeed', 'Confirm')}${form('fail', 'Fail')}`),
    );
  });
  app.post('/3ds/:id', async (c) => {
    const form = await c.req.parseBody();
    const outcome = form.outcome === 'fail' ? 'fail' : 'succeed';
    const payment = book.confirm(c.req.param('id'), outcome);
    return c.html(page(payment.status === 'authorised' ? 'Payment confirmed' : 'Payment failed', '<p>You can close this page.</p>'));
  });

  return {
    app,
    /** Cuts pending waits short and stops webhook delivery. */
    close() {
      for (const entry of [...timers]) entry.done();
      dispatcher.stop();
    },
    inspect: { book, dispatcher, keys },
  };
}

/**
 * Notifications as people see them: a customer's channel choices and in-app messages, and the
 * messages given up on (dead letters) for ops.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { accountTemplates, deadNotifications, inAppMessagesOf, requeueDeadNotification } from '../../db/notifications';
import { inAppView } from '../../notifications/in-app';
import { notificationCategories } from '../../notifications/order-events';
import { preferencesOf, updatePreferences, type NotificationPreferences } from '../../notifications/preferences';
import { access, accountOf, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses, pageQuery, SignedInProblemResponses } from '../schemas';

const privateHeaders = { 'Cache-Control': 'no-store' };
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });

const ChannelChoices = z.object({ email: z.boolean(), in_app: z.boolean() }).openapi('NotificationChannels');
const ChannelChanges = z
  .object({ email: z.boolean().optional(), in_app: z.boolean().optional() })
  .strict()
  .openapi('NotificationChannelChanges', { description: 'Only the channels given change' });

const categoryDescriptions = {
  order_updates: 'Confirmation, shipping, delivery, delivery problems, cancellation and failure of your orders',
  returns_and_refunds: 'Return authorised, return received, refund issued',
} as const satisfies Record<(typeof notificationCategories)[number], string>;

const PreferencesView = z
  .object({
    order_updates: ChannelChoices.openapi({ description: categoryDescriptions.order_updates }),
    returns_and_refunds: ChannelChoices.openapi({ description: categoryDescriptions.returns_and_refunds }),
    alwaysSent: z.array(z.string()).openapi({ description: 'Account and security email, sent whatever the choices above (the account cannot be used without them)' }),
  })
  .openapi('NotificationPreferences');

const PreferenceChanges = z
  .object({
    order_updates: ChannelChanges.optional().openapi({ description: categoryDescriptions.order_updates }),
    returns_and_refunds: ChannelChanges.optional().openapi({ description: categoryDescriptions.returns_and_refunds }),
  })
  .strict()
  .refine((changes) => Object.values(changes).some((channels) => channels && Object.keys(channels).length > 0), {
    message: 'name at least one category and channel to change',
    // Only for a body that is otherwise right: an unknown field is the one error worth naming.
    when: (payload) => payload.issues.length === 0,
  })
  .openapi('NotificationPreferenceChanges', { description: 'Only the categories and channels given change; account and security email cannot be switched off' });

const InAppMessage = z
  .object({
    id: z.number().int(),
    orderId: z.uuid().nullable(),
    event: z.string().openapi({ example: 'order_shipped' }),
    subject: z.string(),
    body: z.string(),
    at: z.iso.datetime(),
  })
  .openapi('InAppMessage');

const InAppPage = z.object({ messages: z.array(InAppMessage), nextCursor: z.string().nullable() }).openapi('InAppMessagePage');

const getPreferences = createRoute({
  method: 'get',
  path: '/v1/me/notification-preferences',
  tags: ['notifications'],
  summary: 'Which messages about your orders you get, by email and in the shop',
  ...access('account:self'),
  responses: { 200: { description: 'Your choices (anything never chosen is on)', ...json(PreferencesView) }, ...SignedInProblemResponses },
});

const putPreferences = createRoute({
  method: 'put',
  path: '/v1/me/notification-preferences',
  tags: ['notifications'],
  summary: 'Switch a category of messages on or off, per channel',
  description: 'Takes effect for messages sent from now on; a message not sent because of it is recorded as skipped.',
  ...access('account:self'),
  request: { body: { required: true, ...json(PreferenceChanges) } },
  responses: { 200: { description: 'Your choices now', ...json(PreferencesView) }, ...SignedInProblemResponses },
});

const listMessages = createRoute({
  method: 'get',
  path: '/v1/me/notifications',
  tags: ['notifications'],
  summary: 'Your in-app messages, newest first',
  ...access('account:self'),
  request: { query: pageQuery },
  responses: { 200: { description: 'A page of messages', ...json(InAppPage) }, ...SignedInProblemResponses },
});

const DeadLetter = z
  .object({
    id: z.number().int(),
    template: z.string(),
    channel: z.string(),
    orderId: z.uuid().nullable(),
    accountId: z.uuid().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable().openapi({ description: 'Why the last attempt failed (an SMTP reply code, never an address)' }),
    messageId: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('NotificationDeadLetter');

const deadLettersRoute = createRoute({
  method: 'get',
  path: '/v1/admin/notifications/dead',
  tags: ['admin', 'notifications'],
  summary: 'Messages given up on after their last attempt or a permanent refusal, newest first',
  ...access('orders:read'),
  request: { query: pageQuery },
  responses: { 200: { description: 'A page of dead letters', ...json(z.object({ items: z.array(DeadLetter), nextCursor: z.string().nullable() })) }, ...AdminProblemResponses },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/v1/admin/notifications/{id}/retry',
  tags: ['admin', 'notifications'],
  summary: 'Queue a dead message again, with a fresh set of attempts (once its cause is fixed)',
  ...access('orders:manage'),
  request: { params: z.object({ id: z.coerce.number().int().positive() }) },
  responses: { 202: { description: 'Queued again' }, ...AdminProblemResponses },
});

const preferencesView = (preferences: NotificationPreferences) => ({ ...preferences, alwaysSent: [...accountTemplates] });

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(cursor);
  if (Number.isSafeInteger(id) && id > 0) return id;
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from a previous page' }], 400));
}

export function notificationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getPreferences, async (c) => c.json(preferencesView(await preferencesOf(c.get('deps').db, accountOf(c).accountId)), 200, privateHeaders));

  app.openapi(putPreferences, async (c) => {
    const preferences = await updatePreferences(c.get('deps').db, accountOf(c).accountId, c.req.valid('json'));
    return c.json(preferencesView(preferences), 200, privateHeaders);
  });

  app.openapi(listMessages, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await inAppMessagesOf(c.get('deps').db, accountOf(c).accountId, limit + 1, decodeCursor(cursor));
    const page = rows.slice(0, limit);
    return c.json({ messages: page.map(inAppView), nextCursor: rows.length > limit ? String(page.at(-1)!.id) : null }, 200, privateHeaders);
  });

  app.openapi(deadLettersRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await deadNotifications(c.get('deps').db, limit + 1, decodeCursor(cursor));
    const page = rows.slice(0, limit);
    return c.json(
      { items: page.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() })), nextCursor: rows.length > limit ? String(page.at(-1)!.id) : null },
      200,
    );
  });

  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await requeueDeadNotification(c.get('deps').db, id))) throw new HttpProblem(problems.notFound('No dead message with this id (only dead messages that still hold their content can be retried)'));
    await recordAudit(c, { action: 'notifications.retry', targetType: 'notification', targetId: String(id), details: {} });
    return c.body(null, 202);
  });
}

import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const notifications = pgSchema('notifications');

export const outboxChannels = ['email', 'in_app', 'event'] as const;
export type OutboxChannel = (typeof outboxChannels)[number];

/**
 * `pending` → `sending` (committed before the channel is called) → `sent`; `skipped` when the customer
 * switched the channel off; `dead` after the last attempt failed (for an operator); `expanded` for an
 * event once its messages exist.
 */
export const outboxStates = ['pending', 'sending', 'sent', 'skipped', 'dead', 'expanded'] as const;
export type OutboxState = (typeof outboxStates)[number];

/**
 * Messages to people, written in the same transaction as the fact they announce and delivered later by
 * the `notificationDelivery` workflow. A row is either one message (one channel, one recipient) or, with
 * channel `event`, an order event that delivery expands into one message row per channel and recipient
 * (`parent_id`, dedupe key `<event id>:<channel>:<account>`, so an event never yields two messages for
 * one recipient on one channel). Recipient and content are encrypted (they hold an email address and,
 * for a password reset, a working link); once a message is final the content is wiped.
 */
export const notificationOutbox = notifications.table(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The account it is about, so an erasure can find and wipe pending messages. */
    accountId: uuid('account_id'),
    template: text('template').notNull(),
    /** Set by senders whose step may be retried (an order confirmation): the same key is queued once. */
    dedupeKey: text('dedupe_key').unique(),
    channel: text('channel').$type<OutboxChannel>().notNull().default('email'),
    /** The event a message was expanded from. */
    parentId: bigint('parent_id', { mode: 'number' }),
    /** The order an order event is about (the in-app message shows on its stream). */
    orderId: uuid('order_id'),
    recipientEnc: text('recipient_enc'),
    payloadEnc: text('payload_enc'),
    state: text('state').$type<OutboxState>().notNull().default('pending'),
    /** Not attempted before this time: the backoff after a failure. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** A `sending` row whose lease has passed belongs to a sender that died: it is sent again. */
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    /** The email Message-ID, derived from the row's identity, the same on every attempt. */
    messageId: text('message_id'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    check('outbox_channel', sql`${t.channel} IN ('email', 'in_app', 'event')`),
    check('outbox_state', sql`${t.state} IN ('pending', 'sending', 'sent', 'skipped', 'dead', 'expanded')`),
    index('outbox_pending_idx').on(t.id).where(sql`${t.deliveredAt} IS NULL`),
    index('outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.state} IN ('pending', 'sending')`),
    index('outbox_account_idx').on(t.accountId),
    index('outbox_parent_idx').on(t.parentId),
  ],
);

/**
 * Messages a customer reads in the shop (the order's event stream, `GET /v1/me/notifications`). One per
 * in-app outbox row. The words are stored rendered, in the customer's language at the time: they hold
 * order facts (number, amounts, tracking), no address.
 */
export const inAppMessages = notifications.table(
  'in_app_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    outboxId: bigint('outbox_id', { mode: 'number' }).notNull(),
    accountId: uuid('account_id').notNull(),
    orderId: uuid('order_id'),
    event: text('event').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('in_app_messages_outbox_key').on(t.outboxId), index('in_app_messages_account_idx').on(t.accountId, t.id), index('in_app_messages_order_idx').on(t.orderId, t.id)],
);

/**
 * A customer's choices, per category of message and channel. No row means on: a customer hears about
 * their orders until they say otherwise. Account and security mail (verification, reset) has no row:
 * it is always sent.
 */
export const notificationPreferences = notifications.table(
  'preferences',
  {
    accountId: uuid('account_id').notNull(),
    category: text('category').notNull(),
    channel: text('channel').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.category, t.channel] }),
    check('preferences_category', sql`${t.category} IN ('order_updates', 'returns_and_refunds')`),
    check('preferences_channel', sql`${t.channel} IN ('email', 'in_app')`),
  ],
);

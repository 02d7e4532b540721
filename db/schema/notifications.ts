import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const notifications = pgSchema('notifications');

/**
 * Messages to people, written in the same transaction as the fact they announce and delivered later by
 * the `notificationDelivery` workflow. Recipient and content are encrypted (they hold an email address
 * and, for a password reset, a working link); once delivered the content is wiped.
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
    channel: text('channel').$type<'email'>().notNull().default('email'),
    recipientEnc: text('recipient_enc'),
    payloadEnc: text('payload_enc'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    check('outbox_channel', sql`${t.channel} IN ('email')`),
    index('outbox_pending_idx').on(t.id).where(sql`${t.deliveredAt} IS NULL`),
    index('outbox_account_idx').on(t.accountId),
  ],
);

import { and, asc, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { piiFields } from '../identity/pii-fields';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import { notificationOutbox } from './schema/notifications';

export const notificationTemplates = ['verify_email', 'reset_password', 'account_exists', 'order_confirmed'] as const;
export type NotificationTemplate = (typeof notificationTemplates)[number];

/** What a template needs to render; encrypted at rest, since a token in it is a working link. */
export interface NotificationPayload {
  /** BCP 47 tag of the account's language, when known. */
  language?: string | null;
  /** The one-time token the message carries (verification, reset). */
  token?: string;
  /** When the token stops working, ISO 8601 UTC. */
  expiresAt?: string;
  /** Order messages. */
  orderId?: string;
  totalAmount?: number;
  currency?: string;
}

export interface NewNotification {
  accountId: string | null;
  template: NotificationTemplate;
  /** An email address. */
  recipient: string;
  payload: NotificationPayload;
  /** Queue this message at most once per key (a retried activity, a replayed step). */
  dedupeKey?: string;
}

/** A claimed row, still encrypted: `openNotification` decrypts it, one message at a time, so one unreadable row fails alone. */
export interface ClaimedNotification {
  id: number;
  accountId: string | null;
  template: NotificationTemplate;
  channel: 'email';
  recipientEnc: string;
  payloadEnc: string | null;
  createdAt: Date;
  attempts: number;
}

export interface OpenedNotification {
  recipient: string;
  payload: NotificationPayload;
}

/**
 * A message that failed this many times is left for an operator (`last_error` says why) rather than
 * retried forever: a handful of undeliverable messages must not fill every batch.
 */
export const maxDeliveryAttempts = 10;

/**
 * Queues a message. Call it inside the transaction that makes the fact it announces, so the message
 * exists if and only if the fact does. The id is taken from the sequence first because the encryption
 * context binds it: the row is written once, already encrypted, and never exists with clear content.
 */
export async function enqueueNotification(tx: Executor, config: Pick<Config, 'pii'>, message: NewNotification): Promise<number> {
  const id = await insertNotification(tx, config, message);
  if (id === undefined) throw new Error(`a message with dedupe key ${message.dedupeKey} is already queued`);
  return id;
}

/** Queues the message unless one with the same `dedupeKey` already is; true when this call queued it. */
export async function enqueueNotificationOnce(tx: Executor, config: Pick<Config, 'pii'>, message: NewNotification & { dedupeKey: string }): Promise<boolean> {
  return (await insertNotification(tx, config, message)) !== undefined;
}

async function insertNotification(tx: Executor, config: Pick<Config, 'pii'>, message: NewNotification): Promise<number | undefined> {
  const [allocated] = await tx.execute<{ id: string }>(sql`SELECT nextval(pg_get_serial_sequence('notifications.outbox', 'id'))::text AS id`);
  const id = Number(allocated!.id);
  const key = String(id);
  const inserted = await tx
    .insert(notificationOutbox)
    .values({
      id,
      accountId: message.accountId,
      template: message.template,
      dedupeKey: message.dedupeKey ?? null,
      channel: 'email',
      recipientEnc: encryptPii(config.pii.keyring, message.recipient, piiFields.notificationRecipient.context(key)),
      payloadEnc: encryptPii(config.pii.keyring, JSON.stringify(message.payload), piiFields.notificationPayload.context(key)),
    })
    .onConflictDoNothing({ target: notificationOutbox.dedupeKey })
    .returning({ id: notificationOutbox.id });
  return inserted[0]?.id;
}

/**
 * Locks up to `limit` undelivered messages, oldest first, for the caller's transaction. SKIP LOCKED:
 * a second drainer (an activity retried while its first attempt is still running) takes other rows
 * instead of waiting, so no message is handed to a sink twice at the same time.
 */
export async function claimPendingNotifications(tx: Executor, limit: number): Promise<ClaimedNotification[]> {
  const rows = await tx
    .select()
    .from(notificationOutbox)
    .where(and(isNull(notificationOutbox.deliveredAt), isNotNull(notificationOutbox.recipientEnc), lt(notificationOutbox.attempts, maxDeliveryAttempts)))
    .orderBy(asc(notificationOutbox.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  return rows.map((row) => ({
    id: row.id,
    accountId: row.accountId,
    template: row.template as NotificationTemplate,
    channel: row.channel,
    recipientEnc: row.recipientEnc!,
    payloadEnc: row.payloadEnc,
    createdAt: row.createdAt,
    attempts: row.attempts,
  }));
}

/** Decrypts a claimed message's address and content; throws `PiiError` when they cannot be trusted. */
export function openNotification(config: Pick<Config, 'pii'>, row: Pick<ClaimedNotification, 'id' | 'recipientEnc' | 'payloadEnc'>): OpenedNotification {
  const key = String(row.id);
  return {
    recipient: decryptPii(config.pii.keyring, row.recipientEnc, piiFields.notificationRecipient.context(key)),
    payload: row.payloadEnc ? (JSON.parse(decryptPii(config.pii.keyring, row.payloadEnc, piiFields.notificationPayload.context(key))) as NotificationPayload) : {},
  };
}

/** Delivered: the address and the content (a working link, perhaps) are wiped; the row stays as a record that a message was sent. */
export async function markNotificationDelivered(tx: Executor, id: number): Promise<void> {
  await tx
    .update(notificationOutbox)
    .set({ deliveredAt: sql`now()`, recipientEnc: null, payloadEnc: null, attempts: sql`${notificationOutbox.attempts} + 1`, lastError: null })
    .where(and(eq(notificationOutbox.id, id), isNull(notificationOutbox.deliveredAt)));
}

/** A failed attempt; the message stays pending. `error` must be safe to store: no address, no content. */
export async function recordNotificationFailure(tx: Executor, id: number, error: string): Promise<void> {
  await tx
    .update(notificationOutbox)
    .set({ attempts: sql`${notificationOutbox.attempts} + 1`, lastError: error.slice(0, 500) })
    .where(eq(notificationOutbox.id, id));
}

/**
 * Drops an account's undelivered messages, wiping what they held (erasure: a message must not reach
 * a person who asked to be forgotten). Returns how many were discarded.
 */
export async function discardPendingNotifications(tx: Executor, accountId: string): Promise<number> {
  const rows = await tx
    .update(notificationOutbox)
    .set({ deliveredAt: sql`now()`, recipientEnc: null, payloadEnc: null, lastError: 'discarded' })
    .where(and(eq(notificationOutbox.accountId, accountId), isNull(notificationOutbox.deliveredAt)))
    .returning({ id: notificationOutbox.id });
  return rows.length;
}

/** Whether a message of `template` was queued for the account within the last `withinMs` (to throttle notices). */
export async function recentlyNotified(db: Executor, accountId: string, template: NotificationTemplate, withinMs: number): Promise<boolean> {
  const [row] = await db
    .select({ id: notificationOutbox.id })
    .from(notificationOutbox)
    .where(
      and(
        eq(notificationOutbox.accountId, accountId),
        eq(notificationOutbox.template, template),
        sql`${notificationOutbox.createdAt} > now() - make_interval(secs => ${withinMs / 1000})`,
      ),
    )
    .limit(1);
  return row !== undefined;
}

import { and, asc, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { piiFields } from '../identity/pii-fields';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import type { OrderEvent } from '../notifications/order-events';
import { inAppMessages, notificationOutbox, notificationPreferences, type OutboxChannel, type OutboxState } from './schema/notifications';

/** Account and security mail: always sent, whatever the customer's preferences. */
export const accountTemplates = ['verify_email', 'reset_password', 'account_exists'] as const;
export type AccountTemplate = (typeof accountTemplates)[number];
/** `campaign` messages carry their own rendered words (notifications/campaign-template.ts). */
export type NotificationTemplate = AccountTemplate | OrderEvent | 'campaign';

/** What a template needs to render; encrypted at rest, since a token in it is a working link. */
export interface NotificationPayload {
  /** BCP 47 tag of the account's language, when known. */
  language?: string | null;
  /** The one-time token the message carries (verification, reset). */
  token?: string;
  /** When the token stops working, ISO 8601 UTC. */
  expiresAt?: string;
  /** Order messages (see `orderEventData` for what each event carries). */
  orderId?: string;
  totalAmount?: number;
  currency?: string;
  amount?: number;
  shipmentId?: string;
  trackingNumber?: string;
  carrier?: string;
  trackingUrl?: string;
  returnWindowEndsAt?: string;
  returnId?: string;
  labelUrl?: string;
  returnBy?: string;
  refundId?: string;
  /** Campaign messages: rendered when queued, handed over as they are. */
  campaignId?: string;
  variant?: 'A' | 'B';
  subject?: string;
  text?: string;
  html?: string;
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
  orderId: string | null;
  template: NotificationTemplate;
  channel: OutboxChannel;
  dedupeKey: string | null;
  recipientEnc: string | null;
  payloadEnc: string | null;
  createdAt: Date;
  /** Attempts so far, this one included for a message claimed to send. */
  attempts: number;
  /** Set when the row was already `sending`: a sender died mid-way and the message may have gone out. */
  resumed: boolean;
}

export interface OpenedNotification {
  recipient: string | null;
  payload: NotificationPayload;
}

/**
 * A message that failed this many times is left for an operator (`state = 'dead'`, `last_error` says
 * why) rather than retried forever: a handful of undeliverable messages must not fill every batch.
 */
export const maxDeliveryAttempts = 10;

/** Longest wait between two attempts of one message. */
const maxRetryDelayMs = 6 * 3_600_000;

/** Exponential backoff: `base`, 2×, 4×… after the 1st, 2nd, 3rd failure, capped at 6 hours. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), maxRetryDelayMs);
}

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

/**
 * An order event: no recipient yet (delivery finds the account's address, language and preferences),
 * channel `event`. Returns the id, or undefined when the dedupe key was already queued.
 */
export async function insertOutboxEvent(
  tx: Executor,
  config: Pick<Config, 'pii'>,
  event: { accountId: string; orderId: string; template: OrderEvent; recipient: null; payload: NotificationPayload; dedupeKey: string },
): Promise<number | undefined> {
  return insertNotification(tx, config, { ...event, channel: 'event' });
}

/** The message an event expands into on one channel for one recipient: at most one per (event, channel, account). */
export interface ExpandedMessage {
  parentId: number;
  accountId: string;
  orderId: string | null;
  template: OrderEvent;
  channel: 'email' | 'in_app';
  recipient: string | null;
  payload: NotificationPayload | null;
  /** `skipped` when the customer switched the channel off (or has no address): recorded, never sent. */
  state: 'pending' | 'skipped' | 'sent';
  note?: string;
}

export const expandedMessageKey = (parentId: number, channel: 'email' | 'in_app', accountId: string) => `${parentId}:${channel}:${accountId}`;

/** Returns the new row's id, or undefined when the event already has its message on that channel for that account. */
export async function insertExpandedMessage(tx: Executor, config: Pick<Config, 'pii'>, message: ExpandedMessage): Promise<number | undefined> {
  return insertNotification(tx, config, {
    accountId: message.accountId,
    orderId: message.orderId ?? undefined,
    template: message.template,
    channel: message.channel,
    parentId: message.parentId,
    recipient: message.recipient,
    payload: message.payload,
    dedupeKey: expandedMessageKey(message.parentId, message.channel, message.accountId),
    state: message.state,
    note: message.note,
  });
}

async function insertNotification(
  tx: Executor,
  config: Pick<Config, 'pii'>,
  message: {
    accountId: string | null;
    template: NotificationTemplate;
    recipient: string | null;
    payload: NotificationPayload | null;
    dedupeKey?: string;
    channel?: OutboxChannel;
    orderId?: string;
    parentId?: number;
    state?: 'pending' | 'skipped' | 'sent';
    note?: string;
  },
): Promise<number | undefined> {
  const [allocated] = await tx.execute<{ id: string }>(sql`SELECT nextval(pg_get_serial_sequence('notifications.outbox', 'id'))::text AS id`);
  const id = Number(allocated!.id);
  const key = String(id);
  const final = message.state === 'skipped' || message.state === 'sent';
  const inserted = await tx
    .insert(notificationOutbox)
    .values({
      id,
      accountId: message.accountId,
      template: message.template,
      dedupeKey: message.dedupeKey ?? null,
      channel: message.channel ?? 'email',
      parentId: message.parentId ?? null,
      orderId: message.orderId ?? null,
      state: message.state ?? 'pending',
      // A final row holds nothing to send: no address, no content.
      recipientEnc: final || message.recipient === null ? null : encryptPii(config.pii.keyring, message.recipient, piiFields.notificationRecipient.context(key)),
      payloadEnc: final || message.payload === null ? null : encryptPii(config.pii.keyring, JSON.stringify(message.payload), piiFields.notificationPayload.context(key)),
      deliveredAt: message.state === 'sent' ? sql`now()` : null,
      attempts: message.state === 'sent' ? 1 : 0,
      lastError: message.note ?? null,
    })
    .onConflictDoNothing({ target: notificationOutbox.dedupeKey })
    .returning({ id: notificationOutbox.id });
  return inserted[0]?.id;
}

type OutboxRow = typeof notificationOutbox.$inferSelect;

const toClaimed = (row: OutboxRow, resumed = false): ClaimedNotification => ({
  id: row.id,
  accountId: row.accountId,
  orderId: row.orderId,
  template: row.template as NotificationTemplate,
  channel: row.channel,
  dedupeKey: row.dedupeKey,
  recipientEnc: row.recipientEnc,
  payloadEnc: row.payloadEnc,
  createdAt: row.createdAt,
  attempts: row.attempts,
  resumed,
});

/**
 * Locks up to `limit` order events due for expansion, oldest first, for the caller's transaction. SKIP
 * LOCKED: a second drainer takes other events instead of waiting.
 */
export async function claimPendingEvents(tx: Executor, limit: number): Promise<ClaimedNotification[]> {
  const rows = await tx
    .select()
    .from(notificationOutbox)
    .where(
      and(
        eq(notificationOutbox.channel, 'event'),
        eq(notificationOutbox.state, 'pending'),
        lt(notificationOutbox.attempts, maxDeliveryAttempts),
        sql`${notificationOutbox.nextAttemptAt} <= now()`,
      ),
    )
    .orderBy(asc(notificationOutbox.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  return rows.map((row) => toClaimed(row));
}

/** The event has its messages: it holds nothing more (each message has its own copy of what it needs). */
export async function markEventExpanded(tx: Executor, id: number): Promise<void> {
  await tx
    .update(notificationOutbox)
    .set({ state: 'expanded', deliveredAt: sql`now()`, payloadEnc: null, attempts: sql`${notificationOutbox.attempts} + 1`, lastError: null })
    .where(and(eq(notificationOutbox.id, id), eq(notificationOutbox.state, 'pending')));
}

/** An event that could not be expanded (unreadable, a template bug): retried later, then left for an operator. */
export async function recordEventFailure(tx: Executor, id: number, error: string, retryBaseMs: number): Promise<OutboxState> {
  const [row] = await tx
    .update(notificationOutbox)
    .set({
      attempts: sql`${notificationOutbox.attempts} + 1`,
      lastError: error.slice(0, 500),
      state: sql`CASE WHEN ${notificationOutbox.attempts} + 1 >= ${maxDeliveryAttempts} THEN 'dead' ELSE 'pending' END`,
      nextAttemptAt: sql`now() + ${retryDelaySql(sql`${notificationOutbox.attempts} + 1`, retryBaseMs)}`,
    })
    .where(eq(notificationOutbox.id, id))
    .returning({ state: notificationOutbox.state });
  return row?.state ?? 'pending';
}

/** The same backoff as `retryDelayMs`, computed by Postgres from the row's attempt count. */
const retryDelaySql = (attempts: ReturnType<typeof sql>, baseMs: number) =>
  sql`make_interval(secs => least(${baseMs}::float8 * power(2, greatest(${attempts} - 1, 0)), ${maxRetryDelayMs}::float8) / 1000)`;

/**
 * Claims up to `limit` emails due for sending and commits them as `sending` before anything is sent:
 * the attempt is counted and the row leased for `leaseMs`. Due means pending and past its backoff, or
 * still `sending` after its lease ran out (the sender died; it may or may not have reached the mail
 * server, which is why the Message-ID never changes). Call it in its own transaction, committed before
 * the send.
 */
export async function claimDueEmails(tx: Executor, limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
  const candidates = await tx
    .select({ id: notificationOutbox.id, state: notificationOutbox.state })
    .from(notificationOutbox)
    .where(
      and(
        eq(notificationOutbox.channel, 'email'),
        lt(notificationOutbox.attempts, maxDeliveryAttempts),
        or(
          and(eq(notificationOutbox.state, 'pending'), sql`${notificationOutbox.nextAttemptAt} <= now()`),
          and(eq(notificationOutbox.state, 'sending'), sql`${notificationOutbox.leaseUntil} < now()`),
        ),
      ),
    )
    .orderBy(asc(notificationOutbox.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  if (candidates.length === 0) return [];
  const resumed = new Set(candidates.filter((row) => row.state === 'sending').map((row) => row.id));
  const rows = await tx
    .update(notificationOutbox)
    .set({ state: 'sending', attempts: sql`${notificationOutbox.attempts} + 1`, leaseUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where(inArray(notificationOutbox.id, candidates.map((row) => row.id)))
    .returning();
  return rows.sort((a, b) => a.id - b.id).map((row) => toClaimed(row, resumed.has(row.id)));
}

/** Records the Message-ID a claimed email is sent with (the same on every attempt), for operators. */
export async function recordMessageId(tx: Executor, id: number, messageId: string): Promise<void> {
  await tx.update(notificationOutbox).set({ messageId }).where(and(eq(notificationOutbox.id, id), isNull(notificationOutbox.messageId)));
}

/** Decrypts a claimed message's address and content; throws `PiiError` when they cannot be trusted. */
export function openNotification(config: Pick<Config, 'pii'>, row: Pick<ClaimedNotification, 'id' | 'recipientEnc' | 'payloadEnc'>): OpenedNotification {
  const key = String(row.id);
  return {
    recipient: row.recipientEnc ? decryptPii(config.pii.keyring, row.recipientEnc, piiFields.notificationRecipient.context(key)) : null,
    payload: row.payloadEnc ? (JSON.parse(decryptPii(config.pii.keyring, row.payloadEnc, piiFields.notificationPayload.context(key))) as NotificationPayload) : {},
  };
}

/**
 * Sent: the address and the content (a working link, perhaps) are wiped; the row stays as a record that
 * a message was sent. Fenced by the attempt: a sender whose lease was taken over does not overwrite
 * what the newer attempt recorded.
 */
export async function markNotificationDelivered(tx: Executor, id: number, attempt: number): Promise<boolean> {
  const rows = await tx
    .update(notificationOutbox)
    .set({ state: 'sent', deliveredAt: sql`now()`, recipientEnc: null, payloadEnc: null, lastError: null, leaseUntil: null })
    .where(and(eq(notificationOutbox.id, id), eq(notificationOutbox.attempts, attempt), eq(notificationOutbox.state, 'sending')))
    .returning({ id: notificationOutbox.id });
  return rows.length > 0;
}

/**
 * A failed attempt. `permanent` (the mail server refused the address for good) or the last attempt →
 * `dead`, left for an operator with its content so it can be sent again; otherwise `pending` until the
 * backoff has passed. `error` must be safe to store: no address, no content.
 */
export async function recordNotificationFailure(
  tx: Executor,
  id: number,
  attempt: number,
  error: string,
  options: { retryBaseMs: number; permanent?: boolean },
): Promise<OutboxState | undefined> {
  const dead = options.permanent || attempt >= maxDeliveryAttempts;
  const [row] = await tx
    .update(notificationOutbox)
    .set({
      state: dead ? 'dead' : 'pending',
      lastError: error.slice(0, 500),
      leaseUntil: null,
      nextAttemptAt: sql`now() + make_interval(secs => ${retryDelayMs(attempt, options.retryBaseMs) / 1000})`,
    })
    .where(and(eq(notificationOutbox.id, id), eq(notificationOutbox.attempts, attempt), eq(notificationOutbox.state, 'sending')))
    .returning({ state: notificationOutbox.state });
  return row?.state;
}

/**
 * Drops an account's undelivered messages, wiping what they held (erasure: a message must not reach
 * a person who asked to be forgotten). Returns how many were discarded.
 */
export async function discardPendingNotifications(tx: Executor, accountId: string): Promise<number> {
  const rows = await tx
    .update(notificationOutbox)
    .set({ state: 'skipped', deliveredAt: sql`now()`, recipientEnc: null, payloadEnc: null, lastError: 'discarded', leaseUntil: null })
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

// — in-app messages

export type InAppMessage = typeof inAppMessages.$inferSelect;

/** Once per in-app outbox row (unique): an expansion retried after a crash adds nothing. */
export async function insertInAppMessage(tx: Executor, message: typeof inAppMessages.$inferInsert): Promise<void> {
  await tx.insert(inAppMessages).values(message).onConflictDoNothing({ target: inAppMessages.outboxId });
}

/** An order's in-app messages after `afterId`, oldest first (the order's event stream). */
export async function inAppMessagesOfOrder(db: Executor, orderId: string, afterId = 0): Promise<InAppMessage[]> {
  return db
    .select()
    .from(inAppMessages)
    .where(and(eq(inAppMessages.orderId, orderId), gt(inAppMessages.id, afterId)))
    .orderBy(asc(inAppMessages.id));
}

/** A customer's in-app messages, newest first, by keyset on id. */
export async function inAppMessagesOf(db: Executor, accountId: string, limit: number, beforeId?: number): Promise<InAppMessage[]> {
  return db
    .select()
    .from(inAppMessages)
    .where(and(eq(inAppMessages.accountId, accountId), beforeId === undefined ? undefined : lt(inAppMessages.id, beforeId)))
    .orderBy(desc(inAppMessages.id))
    .limit(limit);
}

// — preferences

export interface PreferenceRow {
  category: string;
  channel: string;
  enabled: boolean;
  updatedAt: Date;
}

export async function preferenceRowsOf(db: Executor, accountId: string): Promise<PreferenceRow[]> {
  return db
    .select({ category: notificationPreferences.category, channel: notificationPreferences.channel, enabled: notificationPreferences.enabled, updatedAt: notificationPreferences.updatedAt })
    .from(notificationPreferences)
    .where(eq(notificationPreferences.accountId, accountId));
}

/** Sets the given choices, leaving the others as they are. */
export async function upsertPreferences(tx: Executor, accountId: string, choices: { category: string; channel: string; enabled: boolean }[]): Promise<void> {
  if (choices.length === 0) return;
  await tx
    .insert(notificationPreferences)
    .values(choices.map((choice) => ({ accountId, ...choice })))
    .onConflictDoUpdate({
      target: [notificationPreferences.accountId, notificationPreferences.category, notificationPreferences.channel],
      set: { enabled: sql`excluded.enabled`, updatedAt: sql`now()` },
    });
}

// — operators

/** Messages given up on (dead letters), newest first: what, when, how often and why; never the address or content. */
export async function deadNotifications(db: Executor, limit: number, beforeId?: number) {
  return db
    .select({
      id: notificationOutbox.id,
      template: notificationOutbox.template,
      channel: notificationOutbox.channel,
      orderId: notificationOutbox.orderId,
      accountId: notificationOutbox.accountId,
      attempts: notificationOutbox.attempts,
      lastError: notificationOutbox.lastError,
      messageId: notificationOutbox.messageId,
      createdAt: notificationOutbox.createdAt,
    })
    .from(notificationOutbox)
    .where(and(eq(notificationOutbox.state, 'dead'), beforeId === undefined ? undefined : lt(notificationOutbox.id, beforeId)))
    .orderBy(desc(notificationOutbox.id))
    .limit(limit);
}

/** Puts a dead message back in the queue with a fresh set of attempts (an operator fixed the cause). */
export async function requeueDeadNotification(db: Executor, id: number): Promise<boolean> {
  const rows = await db
    .update(notificationOutbox)
    .set({ state: 'pending', attempts: 0, nextAttemptAt: sql`now()`, leaseUntil: null })
    .where(and(eq(notificationOutbox.id, id), eq(notificationOutbox.state, 'dead'), sql`(${notificationOutbox.recipientEnc} IS NOT NULL OR ${notificationOutbox.channel} = 'event')`))
    .returning({ id: notificationOutbox.id });
  return rows.length > 0;
}

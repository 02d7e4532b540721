/**
 * Delivery of the notification outbox, in two steps per drain:
 *
 * 1. Order events are expanded: the account's address, language and preferences are read now, and the
 *    event gets one message row per channel (email, in-app) for its customer, under a unique key
 *    `<event>:<channel>:<account>`, in one transaction with marking the event expanded. A channel the
 *    customer switched off gets its row too, as `skipped`, so the record says why nothing was sent.
 *    In-app messages are written there and then: they are rows in our own database.
 *
 * 2. Emails are sent. Each is claimed and committed as `sending` (attempt counted, leased) before the
 *    mail server is called, and committed as `sent` after it answered. A failure puts it back to
 *    `pending` with a growing delay, or `dead` after the last attempt or a permanent refusal.
 *
 * What is guaranteed, plainly: SMTP has no idempotency key, so "exactly once" cannot be promised on
 * the wire. A sender killed after the mail server accepted a message but before `sent` was committed
 * leaves the row `sending`; once its lease has passed, another sender sends it again. That second SMTP
 * transaction carries the same Message-ID (derived from the row, see `messageIdFor`) and the same Date,
 * which mail providers and clients treat as the same message, so the person sees it once. Every other
 * path sends at most one SMTP transaction per message row, and the unique keys make one row per event,
 * channel and recipient. test/notifications/smtp-crash.test.ts kills a worker in that window and counts.
 */
import { createHash } from 'node:crypto';
import {
  claimDueEmails,
  claimPendingEvents,
  insertExpandedMessage,
  insertInAppMessage,
  markEventExpanded,
  markNotificationDelivered,
  openNotification,
  recordEventFailure,
  recordMessageId,
  recordNotificationFailure,
  type ClaimedNotification,
} from '../db/notifications';
import { accountById } from '../db/identity/accounts';
import { decryptEmail } from '../identity/accounts';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Executor } from '../platform/postgres';
import { categoryOfEvent, isOrderEvent, type OrderEvent } from './order-events';
import { channelChoices } from './preferences';
import { PermanentDeliveryError, type NotificationSink } from './sinks';
import { renderNotification } from './templates';

export interface NotificationDeliveryDeps {
  db: Executor;
  config: Pick<Config, 'pii' | 'PUBLIC_URL' | 'API_PORT' | 'SMTP_FROM' | 'NOTIFICATION_SEND_LEASE_MS' | 'NOTIFICATION_RETRY_BASE_MS'>;
  sink: NotificationSink;
  logger: Logger;
  /** Called after each message handled (the activity heartbeats there). */
  onProgress?: () => void;
}

export interface DeliveryBatchResult {
  /** Emails sent and in-app messages written. */
  delivered: number;
  /** Attempts that failed (the row stays queued for a later attempt, or is dead). */
  failed: number;
  /** Messages not sent because the customer switched the channel off or has no address. */
  skipped: number;
}

/** Where the links in messages point: the public address, or the local API in development. */
export const storefrontBaseUrl = (config: Pick<Config, 'PUBLIC_URL' | 'API_PORT'>) => config.PUBLIC_URL ?? `http://localhost:${config.API_PORT}`;

/** `Comptoir <orders@shop.example>` → `shop.example`. */
export function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)\s*>?\s*$/.exec(from);
  return match?.[1]?.toLowerCase() ?? 'comptoir.localhost';
}

/**
 * The Message-ID of an outbox row: a pure function of facts the row never changes (id, creation time,
 * dedupe key), so every attempt at one message carries the same one. The digest keeps the account id
 * inside the dedupe key out of the header, and makes ids from two databases (a restored backup, a
 * staging copy) unlikely to meet.
 */
export function messageIdFor(row: Pick<ClaimedNotification, 'id' | 'createdAt' | 'dedupeKey'>, from: string): string {
  const digest = createHash('sha256').update(`${row.id}|${row.createdAt.toISOString()}|${row.dedupeKey ?? ''}`).digest('base64url').slice(0, 16);
  return `<notification.${row.id}.${digest}@${senderDomain(from)}>`;
}

/** Names and messages of our own errors (PiiError, rendering, the sinks' summaries) carry no address or content. */
const safeReason = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error');

/** Expands due order events, then sends due emails; one batch of each. */
export async function deliverPendingNotifications(deps: NotificationDeliveryDeps, batchSize: number): Promise<DeliveryBatchResult> {
  const expanded = await expandOrderEvents(deps, batchSize);
  const sent = await sendDueEmails(deps, batchSize);
  return { delivered: expanded.delivered + sent.delivered, failed: expanded.failed + sent.failed, skipped: expanded.skipped };
}

/** Step 1: each due order event becomes its messages, all or nothing per event (a savepoint each). */
export async function expandOrderEvents(deps: NotificationDeliveryDeps, batchSize: number): Promise<DeliveryBatchResult> {
  return deps.db.transaction(async (tx) => {
    const result: DeliveryBatchResult = { delivered: 0, failed: 0, skipped: 0 };
    for (const event of await claimPendingEvents(tx, batchSize)) {
      try {
        const counts = await tx.transaction((savepoint) => expandEvent(savepoint, deps, event));
        result.delivered += counts.delivered;
        result.skipped += counts.skipped;
      } catch (error) {
        const reason = safeReason(error);
        const state = await recordEventFailure(tx, event.id, reason, deps.config.NOTIFICATION_RETRY_BASE_MS);
        deps.logger.warn({ notificationId: event.id, template: event.template, orderId: event.orderId, state, err: { message: reason } }, 'order event not expanded');
        result.failed++;
      }
      deps.onProgress?.();
    }
    return result;
  });
}

async function expandEvent(tx: Executor, deps: NotificationDeliveryDeps, event: ClaimedNotification): Promise<{ delivered: number; skipped: number }> {
  const template = event.template;
  if (!isOrderEvent(template) || !event.accountId) throw new Error(`outbox event ${event.id} is not an order event`);
  const { payload } = openNotification(deps.config, event);
  const account = await accountById(tx, event.accountId);
  const live = account && account.status !== 'erased' ? account : undefined;
  const email = live ? decryptEmail(deps.config, live) : undefined;
  const choices = await channelChoices(tx, event.accountId, categoryOfEvent[template as OrderEvent]);
  // The language at the time of sending, like the address: a customer who switched to French hears in French.
  const messagePayload = { ...payload, orderId: payload.orderId ?? event.orderId ?? undefined, language: live?.language ?? null };
  const common = { parentId: event.id, accountId: event.accountId, orderId: event.orderId, template };
  const counts = { delivered: 0, skipped: 0 };

  const emailNote = !live ? 'skipped: no account' : !choices.email ? 'skipped: email switched off' : !email ? 'skipped: no email address' : undefined;
  await insertExpandedMessage(tx, deps.config, {
    ...common,
    channel: 'email',
    recipient: emailNote ? null : email!,
    payload: emailNote ? null : messagePayload,
    state: emailNote ? 'skipped' : 'pending',
    note: emailNote,
  });
  if (emailNote) counts.skipped++;

  const inAppNote = !live ? 'skipped: no account' : !choices.in_app ? 'skipped: in-app switched off' : undefined;
  const inAppId = await insertExpandedMessage(tx, deps.config, { ...common, channel: 'in_app', recipient: null, payload: null, state: inAppNote ? 'skipped' : 'sent', note: inAppNote });
  if (inAppNote) counts.skipped++;
  else if (inAppId !== undefined) {
    const rendered = renderNotification(template, messagePayload, storefrontBaseUrl(deps.config));
    await insertInAppMessage(tx, { outboxId: inAppId, accountId: event.accountId, orderId: event.orderId, event: template, subject: rendered.subject, body: rendered.text });
    counts.delivered++;
  }
  await markEventExpanded(tx, event.id);
  return counts;
}

/** Step 2: emails due, each claimed (`sending`, committed), sent, then recorded. */
export async function sendDueEmails(deps: NotificationDeliveryDeps, batchSize: number): Promise<DeliveryBatchResult> {
  const from = deps.config.SMTP_FROM;
  const claimed = await deps.db.transaction(async (tx) => {
    const rows = await claimDueEmails(tx, batchSize, deps.config.NOTIFICATION_SEND_LEASE_MS);
    for (const row of rows) await recordMessageId(tx, row.id, messageIdFor(row, from));
    return rows;
  });
  const result: DeliveryBatchResult = { delivered: 0, failed: 0, skipped: 0 };
  for (const row of claimed) {
    const messageId = messageIdFor(row, from);
    if (row.resumed) {
      // The previous sender died while this message was `sending`: it may have reached the server.
      deps.logger.warn({ notificationId: row.id, template: row.template, messageId, attempts: row.attempts }, 'sending again a message whose sender died mid-send (same Message-ID)');
    }
    try {
      const { recipient, payload } = openNotification(deps.config, row);
      if (!recipient) throw new Error('the message has no recipient');
      const rendered = renderNotification(row.template, payload, storefrontBaseUrl(deps.config));
      await deps.sink.deliver({ id: row.id, messageId, channel: 'email', template: row.template, to: recipient, ...rendered, queuedAt: row.createdAt.toISOString() });
      // A worker killed here has had its message accepted and not recorded: see the file comment.
      const recorded = await markNotificationDelivered(deps.db, row.id, row.attempts);
      if (!recorded) deps.logger.warn({ notificationId: row.id, messageId }, 'message sent after its lease passed; a newer attempt owns the row');
      result.delivered++;
    } catch (error) {
      const reason = safeReason(error);
      const state = await recordNotificationFailure(deps.db, row.id, row.attempts, reason, {
        retryBaseMs: deps.config.NOTIFICATION_RETRY_BASE_MS,
        permanent: error instanceof PermanentDeliveryError,
      });
      deps.logger.warn(
        { notificationId: row.id, template: row.template, attempts: row.attempts, state, err: { message: reason } },
        state === 'dead' ? 'notification given up: left for an operator' : 'notification not delivered; it stays queued',
      );
      result.failed++;
    }
    deps.onProgress?.();
  }
  return result;
}

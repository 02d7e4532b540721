/**
 * Hands a campaign message to the notification outbox, inside the caller's transaction (the one that
 * settles the delivery row), under the dedupe key `campaign:<campaign>:<account>`: the row and the
 * message exist together or not at all, and never twice.
 *
 * - email: a pending outbox message (`enqueueNotificationOnce`), sent by the notification delivery loop.
 * - in-app: written as delivered at once, like an order event's in-app message: an outbox row
 *   (channel `in_app`, state `sent`, no address, no content) for the record and the dedupe key, and the
 *   in-app message the customer reads (`GET /v1/me/notifications`), in our own database.
 *   db/notifications.ts has no function for an in-app message outside an order yet: the outbox row is
 *   inserted here, through the outbox's schema, until it does (see the issue 8 report).
 */
import { enqueueNotificationOnce, insertInAppMessage } from '../../db/notifications';
import type { CampaignChannel } from '../../db/schema/campaigns';
import { notificationOutbox } from '../../db/schema/notifications';
import { campaignTemplateName, type CampaignPayload } from '../../notifications/campaign-template';
import type { Config } from '../../platform/config';
import type { Executor } from '../../platform/postgres';

export const campaignDedupeKey = (campaignId: string, accountId: string) => `campaign:${campaignId}:${accountId}`;

export interface CampaignMessage {
  channel: CampaignChannel;
  campaignId: string;
  accountId: string;
  /** The address, for email. */
  email?: string;
  payload: CampaignPayload;
}

/** True when this call queued it; false when the key was queued already. */
export async function queueCampaignMessage(tx: Executor, config: Pick<Config, 'pii'>, message: CampaignMessage): Promise<boolean> {
  const dedupeKey = campaignDedupeKey(message.campaignId, message.accountId);
  if (message.channel === 'email') {
    if (!message.email) throw new Error('an email campaign message needs an address');
    return enqueueNotificationOnce(tx, config, {
      accountId: message.accountId,
      template: campaignTemplateName,
      recipient: message.email,
      payload: message.payload,
      dedupeKey,
    });
  }
  const [row] = await tx
    .insert(notificationOutbox)
    .values({ accountId: message.accountId, template: campaignTemplateName, dedupeKey, channel: 'in_app', state: 'sent', deliveredAt: new Date(), attempts: 1 })
    .onConflictDoNothing({ target: notificationOutbox.dedupeKey })
    .returning({ id: notificationOutbox.id });
  if (!row) return false;
  // The in-app list shows a short body: the text, without the email's HTML.
  await insertInAppMessage(tx, { outboxId: row.id, accountId: message.accountId, orderId: null, event: campaignTemplateName, subject: message.payload.subject, body: message.payload.text });
  return true;
}

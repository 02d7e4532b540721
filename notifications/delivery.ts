/**
 * Hands queued messages to the sink. At least once: a message is marked delivered only after the sink
 * took it, in the transaction that claimed it, so a crash in between means it is handed over again
 * (the file sink then replaces its own file). Never twice at the same time: claimed rows are locked.
 */
import { claimPendingNotifications, markNotificationDelivered, openNotification, recordNotificationFailure } from '../db/notifications';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Executor } from '../platform/postgres';
import type { NotificationSink } from './sinks';
import { renderNotification } from './templates';

export interface NotificationDeliveryDeps {
  db: Executor;
  config: Pick<Config, 'pii' | 'PUBLIC_URL' | 'API_PORT'>;
  sink: NotificationSink;
  logger: Logger;
}

export interface DeliveryBatchResult {
  delivered: number;
  failed: number;
}

/** Where the links in messages point: the public address, or the local API in development. */
export const storefrontBaseUrl = (config: Pick<Config, 'PUBLIC_URL' | 'API_PORT'>) => config.PUBLIC_URL ?? `http://localhost:${config.API_PORT}`;

/**
 * Delivers one batch of pending messages, oldest first. A message that fails (unreadable, sink error)
 * has the attempt recorded and stays pending; the others of the batch still go out.
 */
export async function deliverPendingNotifications(deps: NotificationDeliveryDeps, batchSize: number): Promise<DeliveryBatchResult> {
  return deps.db.transaction(async (tx) => {
    const claimed = await claimPendingNotifications(tx, batchSize);
    const result: DeliveryBatchResult = { delivered: 0, failed: 0 };
    for (const row of claimed) {
      try {
        const { recipient, payload } = openNotification(deps.config, row);
        const { subject, text } = renderNotification(row.template, payload, storefrontBaseUrl(deps.config));
        await deps.sink.deliver({ id: row.id, channel: row.channel, template: row.template, to: recipient, subject, text, queuedAt: row.createdAt.toISOString() });
        await markNotificationDelivered(tx, row.id);
        result.delivered++;
      } catch (error) {
        // Names and messages of our own errors (PiiError, file system, rendering) carry no address or content.
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        await recordNotificationFailure(tx, row.id, reason);
        deps.logger.warn({ notificationId: row.id, template: row.template, attempts: row.attempts + 1, err: { message: reason } }, 'notification not delivered; it stays queued');
        result.failed++;
      }
    }
    return result;
  });
}

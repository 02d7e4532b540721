import { ApplicationFailure, Context } from '@temporalio/activity';
import { deliverPendingNotifications } from '../../notifications/delivery';
import { createNotificationSink, type NotificationSink } from '../../notifications/sinks';
import type { NotificationDrainResult } from '../../workflows/identity/notificationDelivery';
import type { IdentityActivityDeps } from './index';

const pollIntervalMs = 250;

/**
 * Delivery of the notification outbox (order events expanded per channel, emails sent). Idempotent: a
 * message is committed `sending` before the sink is called and `sent` after, an event is expanded once
 * (unique keys per event, channel and recipient), so a retried or repeated drain never sends a sent
 * message again. The one exception, a sender killed between the mail server's acceptance and the
 * record, resends under the same Message-ID: see notifications/delivery.ts.
 */
export function createNotificationActivities(deps: Pick<IdentityActivityDeps, 'db' | 'config' | 'logger'> & { sink?: NotificationSink }) {
  const sink = deps.sink ?? createNotificationSink(deps.config, deps.logger);
  return {
    /**
     * Delivers batches until one comes back empty or `idleWaitMs` has passed; when the outbox is
     * empty it waits for messages itself (heartbeating), so an idle shop costs the workflow one
     * activity per `idleWaitMs` instead of a timer and an activity per poll.
     */
    async deliverNotifications(input: { batchSize: number; idleWaitMs: number }): Promise<NotificationDrainResult> {
      const deadline = Date.now() + input.idleWaitMs;
      const total: NotificationDrainResult = { delivered: 0, failed: 0 };
      for (;;) {
        const heartbeat = () => Context.current().heartbeat();
        const batch = await deliverPendingNotifications({ db: deps.db, config: deps.config, sink, logger: deps.logger, onProgress: heartbeat }, input.batchSize);
        total.delivered += batch.delivered;
        total.failed += batch.failed;
        if (batch.failed > 0 && batch.delivered === 0) {
          // Nothing got through (a full disk, a channel down): let the retry policy's backoff pace
          // the attempts instead of spinning; the failures are already recorded on the rows.
          throw ApplicationFailure.retryable(`no notification of a batch of ${batch.failed} could be delivered`, 'NotificationSinkFailing');
        }
        if (batch.delivered > 0) return total;
        if (Date.now() >= deadline) return total;
        Context.current().heartbeat();
        // Throws when the activity is cancelled (worker shutting down): nothing is half-done between batches.
        await Context.current().sleep(pollIntervalMs);
      }
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;

import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { WebhookActivities } from '../../activities/payments/webhooks';
import { activityPresets } from '../activity-presets';
import { paymentWebhookDeliveryProgressQuery, type PaymentWebhookDeliveryCounts, type PaymentWebhookDeliveryInput } from './definitions';

// A drain may wait for rows (idleWaitMs) and heartbeats while it does: the batch preset fits both.
const inbox = proxyActivities<WebhookActivities>(activityPresets.databaseBatch);

/** Each round adds about six events; a fresh run well before Temporal suggests it keeps replays short. */
const maxRoundsPerRun = 400;

/**
 * Delivers the payment webhook inbox's pending events to their payment workflows, forever: what the
 * webhook route stored but could not signal (Temporal down at receipt, the API killed in between) is
 * delivered here once Temporal answers again. Nothing is lost: a row leaves `pending` only once its
 * workflow has the event, or is `orphaned` (kept and listed) when there is no workflow for it.
 */
export async function paymentWebhookDelivery(input: PaymentWebhookDeliveryInput): Promise<void> {
  const counts: PaymentWebhookDeliveryCounts = input.resumeFrom ?? { drains: 0, delivered: 0, orphaned: 0, stillPending: 0 };
  setHandler(paymentWebhookDeliveryProgressQuery, () => counts);

  for (let round = 0; round < maxRoundsPerRun && !workflowInfo().continueAsNewSuggested; round++) {
    const drained = await inbox.deliverPendingWebhooks({ batchSize: input.batchSize, idleWaitMs: input.idleWaitMs, graceMs: input.graceMs });
    counts.drains++;
    counts.delivered += drained.delivered;
    counts.orphaned += drained.orphaned;
    counts.stillPending = drained.stillPending;
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof paymentWebhookDelivery>({ ...input, resumeFrom: counts });
}

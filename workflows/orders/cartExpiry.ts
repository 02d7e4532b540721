import { proxyActivities } from '@temporalio/workflow';
import type { CartActivities } from '../../activities/orders/carts';
import { activityPresets } from '../activity-presets';

const carts = proxyActivities<CartActivities>(activityPresets.databaseWrite);

/** Batches per run: a larger backlog waits for the next hour. */
const maxBatches = 50;

/** Run hourly by a Schedule: open carts nobody touched for 30 days become `expired`. */
export async function cartExpiry(): Promise<{ expired: number }> {
  let expired = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const { count, more } = await carts.expireIdleCarts({ limit: 500 });
    expired += count;
    if (!more) break;
  }
  return { expired };
}

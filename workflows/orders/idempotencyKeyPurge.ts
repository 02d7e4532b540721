import { proxyActivities } from '@temporalio/workflow';
import type { IdempotencyActivities } from '../../activities/orders/idempotency';
import { activityPresets } from '../activity-presets';

const keys = proxyActivities<IdempotencyActivities>(activityPresets.databaseWrite);

/** Calls per run: a larger backlog waits for the next hour. */
const maxCalls = 50;

/**
 * Run hourly by a Schedule: stored answers past their 24 h are deleted. An expired key is already
 * ignored when a request claims it, so this keeps the table (and the encrypted answers in it) small;
 * it also means an old PII key stops being needed for stored answers a day after a rotation.
 */
export async function idempotencyKeyPurge(): Promise<{ purged: number }> {
  let purged = 0;
  for (let call = 0; call < maxCalls; call++) {
    const batch = await keys.purgeExpiredIdempotencyKeys();
    purged += batch.purged;
    if (!batch.more) break;
  }
  return { purged };
}

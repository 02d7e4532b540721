import { proxyActivities } from '@temporalio/workflow';
import type { ReservationActivities } from '../../activities/inventory/reservations';
import { activityPresets } from '../activity-presets';
import type { ReservationSweepResult } from './definitions';

const inventory = proxyActivities<ReservationActivities>(activityPresets.databaseWrite);

/** Orders released per activity call, and calls per run: a backlog larger than that waits for the next minute. */
const batchSize = 200;
const maxBatches = 25;

/**
 * Run every minute by a Schedule on the catalog queue: gives back the stock held by checkouts that
 * neither settled nor extended their reservation in time (a saga that died, a lost compensation).
 */
export async function inventoryReservationSweep(): Promise<ReservationSweepResult> {
  const total: ReservationSweepResult = { orders: 0, units: 0, more: false };
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await inventory.expireStaleReservations({ limit: batchSize });
    total.orders += result.orders;
    total.units += result.units;
    total.more = result.more;
    if (!result.more) break;
  }
  return total;
}

import { proxyActivities } from '@temporalio/workflow';
import type { ReconciliationActivities, ReconciliationFinding } from '../../activities/orders/reconciliation';
import { activityPresets } from '../activity-presets';

const reconcile = proxyActivities<ReconciliationActivities>(activityPresets.databaseBatch);

/** Run every 10 minutes by a Schedule: repairs or flags orders stuck between states (see the activity). */
export async function orderReconciliation(): Promise<{ findings: ReconciliationFinding[] }> {
  return { findings: await reconcile.reconcileOrders({ limit: 200 }) };
}

import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DomainErasure, GdprActivities } from '../../activities/identity/gdpr';
import { activityPresets } from '../activity-presets';

const steps = proxyActivities<GdprActivities>(activityPresets.databaseWrite);
// An eraser may have many rows to go through (orders, later): it heartbeats, so a dead worker is noticed in seconds.
const erasers = proxyActivities<GdprActivities>(activityPresets.databaseBatch);

export interface GdprErasureInput {
  accountId: string;
}

export interface GdprErasureResult {
  accountId: string;
  sessionsRevoked: number;
  erased: DomainErasure[];
  /** False when the request had already been completed by an earlier run. */
  completedNow: boolean;
}

/**
 * Erases a person (GDPR art. 17), started by `DELETE /v1/me` with the id `gdpr-erasure-<accountId>`.
 * Sessions go first, so nobody acts as the person while the rest is erased; then every domain of the
 * registry (`identity/gdpr.ts`) erases what it holds; then the request is marked done and audited.
 * Every step is idempotent: a run cut short by a dead worker resumes where it was, and running the whole
 * workflow again changes nothing.
 */
export async function gdprErasure(input: GdprErasureInput): Promise<GdprErasureResult> {
  const { accountId } = input;
  const { revoked } = await steps.revokeSessionsForErasure({ accountId });
  const domains = await steps.erasureDomains();
  const erased: DomainErasure[] = [];
  for (const domain of domains) erased.push(await erasers.erasePersonalData({ accountId, domain }));
  const { completedNow } = await steps.completeErasure({ accountId, workflowId: workflowInfo().workflowId, erased });
  return { accountId, sessionsRevoked: revoked, erased, completedNow };
}

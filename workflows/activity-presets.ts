import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Every activity proxy uses one of these, so timeouts and retries are decided once per kind of work.
 * Business failures are thrown as non-retryable ApplicationFailures by the activities themselves;
 * everything else (a database restart, a dropped connection) is retried with backoff, without limit,
 * because the activities are idempotent.
 */
export const activityPresets = {
  /** A few statements against our own database. */
  databaseWrite: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  },
  /** A batch that may take a while: the heartbeat timeout notices a dead worker in seconds rather than minutes. */
  databaseBatch: {
    startToCloseTimeout: '5m',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  },
  /** A call to a partner over the network (payment provider, carrier, SMTP). */
  partnerCall: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' },
  },
} as const satisfies Record<string, ActivityOptions>;

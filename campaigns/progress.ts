/**
 * Campaign counters, per outcome and per variant. Pure, so the workflow can add the results of its
 * batches and the API can build the same shape from the delivery rows.
 */
export interface OutcomeCounts {
  sent: number;
  failed: number;
  skippedNoConsent: number;
}

export interface ProgressCounts extends OutcomeCounts {
  variants: { A: OutcomeCounts; B: OutcomeCounts };
}

export const noOutcomes = (): OutcomeCounts => ({ sent: 0, failed: 0, skippedNoConsent: 0 });
export const noProgress = (): ProgressCounts => ({ ...noOutcomes(), variants: { A: noOutcomes(), B: noOutcomes() } });

/** The outcome of one settled recipient, as a delivery row records it. */
export type SettledStatus = 'sent' | 'failed' | 'skipped_no_consent';

const field: Record<SettledStatus, keyof OutcomeCounts> = { sent: 'sent', failed: 'failed', skipped_no_consent: 'skippedNoConsent' };

/** Counts of `(status, variant, count)` rows; statuses other than the settled ones are ignored. */
export function countOutcomes(rows: readonly { status: string; variant: string; count: number }[]): ProgressCounts {
  const counts = noProgress();
  for (const row of rows) {
    const key = field[row.status as SettledStatus];
    if (!key || (row.variant !== 'A' && row.variant !== 'B')) continue;
    counts[key] += row.count;
    counts.variants[row.variant][key] += row.count;
  }
  return counts;
}

/** `a + b`, field by field, as a new object. */
export function addProgress(a: ProgressCounts, b: ProgressCounts): ProgressCounts {
  const add = (x: OutcomeCounts, y: OutcomeCounts): OutcomeCounts => ({ sent: x.sent + y.sent, failed: x.failed + y.failed, skippedNoConsent: x.skippedNoConsent + y.skippedNoConsent });
  return { ...add(a, b), variants: { A: add(a.variants.A, b.variants.A), B: add(a.variants.B, b.variants.B) } };
}

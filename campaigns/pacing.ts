/**
 * Rate limiting as arithmetic, for the workflow (no I/O, no clock of its own): a batch of `n` messages
 * at `ratePerMinute` occupies `n / rate` minutes, and the next batch starts no earlier than that after
 * this one started. The time the batch itself took is deducted, so a slow database does not slow the
 * campaign further, and the rate is never exceeded.
 */
export function batchSlotMs(messages: number, ratePerMinute: number): number {
  if (!(ratePerMinute > 0)) throw new RangeError('ratePerMinute must be positive');
  return Math.ceil((Math.max(0, messages) * 60_000) / ratePerMinute);
}

export function pauseAfterBatch(messages: number, ratePerMinute: number, elapsedMs: number): number {
  return Math.max(0, batchSlotMs(messages, ratePerMinute) - Math.max(0, elapsedMs));
}

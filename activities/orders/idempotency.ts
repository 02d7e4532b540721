import { purgeExpiredIdempotencyKeys } from '../../db/idempotency';
import type { Database } from '../../platform/postgres';

const batchSize = 1_000;
const batchesPerCall = 10;

export function createIdempotencyActivities({ db }: { db: Database }) {
  return {
    /** Idempotent: a retry finds only what is still expired, a second run nothing. */
    async purgeExpiredIdempotencyKeys(): Promise<{ purged: number; more: boolean }> {
      const purged = await purgeExpiredIdempotencyKeys(db, { batchSize, maxBatches: batchesPerCall });
      return { purged, more: purged === batchSize * batchesPerCall };
    },
  };
}

export type IdempotencyActivities = ReturnType<typeof createIdempotencyActivities>;

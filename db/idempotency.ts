/**
 * `Idempotency-Key` records (ops.idempotency_keys): one row per (scope, key) holds either a claim on a
 * request being executed (`in_progress`) or the answer it gave (`completed`).
 *
 * A claim is identified by the `created_at` it was given (rounded to the millisecond so that it
 * survives the trip through a JS Date): completing or releasing names that instant, so a request
 * whose claim was taken over (lease run out, or key expired) can no longer overwrite or delete the
 * claim of the request that took over.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { idempotencyKeys } from './schema/ops';

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/** How long a key and its answer are kept (issue 6: 24 h). */
export const idempotencyKeyTtlMs = 24 * 60 * 60 * 1000;

/**
 * After this long an `in_progress` claim is presumed dead (its process crashed before completing or
 * releasing it) and a retry with the same request may take it over. Much longer than any request
 * should run: taking over a claim whose request is in fact still running would execute it twice.
 */
export const idempotencyLeaseMs = 2 * 60 * 1000;

export interface IdempotencyClaim {
  scope: string;
  key: string;
  /** The claim's identity; see the module comment. */
  claimedAt: Date;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Claims (scope, key) for a request, or returns undefined when someone else holds it. One statement,
 * so concurrent duplicates cannot both win: a new key is inserted; an existing row is taken over only
 * when it has expired (then it is a new key, whatever request it held) or when it is an `in_progress`
 * claim of the same request older than the lease. Anything else is left alone (read it to decide).
 */
export async function claimIdempotencyKey(
  db: Executor,
  input: { scope: string; key: string; requestHash: string; ttlMs?: number; leaseMs?: number },
): Promise<IdempotencyClaim | undefined> {
  const ttl = `${input.ttlMs ?? idempotencyKeyTtlMs} milliseconds`;
  const lease = `${input.leaseMs ?? idempotencyLeaseMs} milliseconds`;
  const claimedAt = sql`date_trunc('milliseconds', now())`;
  const [row] = await db
    .insert(idempotencyKeys)
    .values({
      scope: input.scope,
      key: input.key,
      requestHash: input.requestHash,
      status: 'in_progress',
      createdAt: claimedAt,
      expiresAt: sql`now() + ${ttl}::interval`,
    })
    .onConflictDoUpdate({
      target: [idempotencyKeys.scope, idempotencyKeys.key],
      set: {
        requestHash: sql`excluded.request_hash`,
        status: 'in_progress',
        responseStatus: null,
        responseHeaders: null,
        responseBody: null,
        createdAt: sql`excluded.created_at`,
        expiresAt: sql`excluded.expires_at`,
      },
      setWhere: sql`${idempotencyKeys.expiresAt} <= now()
        OR (${idempotencyKeys.status} = 'in_progress'
            AND ${idempotencyKeys.requestHash} = excluded.request_hash
            AND ${idempotencyKeys.createdAt} <= now() - ${lease}::interval)`,
    })
    .returning({ claimedAt: idempotencyKeys.createdAt });
  return row ? { scope: input.scope, key: input.key, claimedAt: row.claimedAt } : undefined;
}

export async function readIdempotencyKey(db: Executor, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
  const [row] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
  return row;
}

const heldBy = (claim: IdempotencyClaim) =>
  and(
    eq(idempotencyKeys.scope, claim.scope),
    eq(idempotencyKeys.key, claim.key),
    eq(idempotencyKeys.status, 'in_progress'),
    eq(idempotencyKeys.createdAt, claim.claimedAt),
  );

/** Stores the answer under the claim; false when the claim was lost meanwhile (taken over or purged). */
export async function completeIdempotencyKey(db: Executor, claim: IdempotencyClaim, response: StoredResponse): Promise<boolean> {
  const rows = await db
    .update(idempotencyKeys)
    .set({ status: 'completed', responseStatus: response.status, responseHeaders: response.headers, responseBody: response.body })
    .where(heldBy(claim))
    .returning({ key: idempotencyKeys.key });
  return rows.length > 0;
}

/** Gives the key back after a failure, so that a retry executes the request; false when the claim was already lost. */
export async function releaseIdempotencyKey(db: Executor, claim: IdempotencyClaim): Promise<boolean> {
  const rows = await db.delete(idempotencyKeys).where(heldBy(claim)).returning({ key: idempotencyKeys.key });
  return rows.length > 0;
}

/**
 * Deletes expired keys, `batchSize` rows per statement so a large backlog never holds one long lock,
 * until none is left. Idempotent: a second run finds nothing. Expired rows are already ignored by
 * the claim, so purging is housekeeping, not correctness.
 */
export async function purgeExpiredIdempotencyKeys(db: Executor, options: { batchSize?: number; maxBatches?: number } = {}): Promise<number> {
  const batchSize = options.batchSize ?? 1_000;
  let purged = 0;
  for (let batch = 0; batch < (options.maxBatches ?? Number.POSITIVE_INFINITY); batch++) {
    const rows = await db.execute<{ key: string }>(sql`
      DELETE FROM ${idempotencyKeys}
      WHERE (scope, key) IN (
        SELECT scope, key FROM ${idempotencyKeys}
        WHERE expires_at <= now()
        LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING key`);
    purged += rows.length;
    if (rows.length < batchSize) return purged;
  }
  return purged;
}

/** Every key of one scope, e.g. `account:<id>` when the account is erased (GDPR); returns how many. */
export async function deleteIdempotencyKeysOfScope(db: Executor, scope: string): Promise<number> {
  const rows = await db.delete(idempotencyKeys).where(eq(idempotencyKeys.scope, scope)).returning({ key: idempotencyKeys.key });
  return rows.length;
}

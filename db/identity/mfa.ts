import { and, eq, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { recoveryCodes, sessions, totpFactors } from '../schema/identity';

export type TotpFactorRow = typeof totpFactors.$inferSelect;

export async function totpFactorOf(db: Executor, accountId: string): Promise<TotpFactorRow | undefined> {
  const [row] = await db.select().from(totpFactors).where(eq(totpFactors.accountId, accountId));
  return row;
}

/**
 * Starts (or restarts) an enrolment: a pending factor with a fresh secret. A confirmed factor is never
 * replaced here — the caller has to disable it first — hence the conditional upsert; false when one exists.
 */
export async function upsertPendingTotp(db: Executor, accountId: string, secretEnc: string): Promise<boolean> {
  const rows = await db
    .insert(totpFactors)
    .values({ accountId, secretEnc })
    .onConflictDoUpdate({
      target: totpFactors.accountId,
      set: { secretEnc, lastStep: null, createdAt: sql`now()` },
      setWhere: isNull(totpFactors.confirmedAt),
    })
    .returning({ accountId: totpFactors.accountId });
  return rows.length > 0;
}

/**
 * Records that `step` was used, only if no later or equal step was used before: two requests carrying
 * the same code race here, and exactly one of them wins. `confirming` activates a pending factor
 * instead of using a confirmed one.
 */
export async function claimTotpStep(db: Executor, accountId: string, step: number, confirming: boolean): Promise<boolean> {
  const rows = await db
    .update(totpFactors)
    .set(confirming ? { lastStep: step, confirmedAt: sql`now()` } : { lastStep: step })
    .where(
      and(
        eq(totpFactors.accountId, accountId),
        confirming ? isNull(totpFactors.confirmedAt) : isNotNull(totpFactors.confirmedAt),
        or(isNull(totpFactors.lastStep), lt(totpFactors.lastStep, step)),
      ),
    )
    .returning({ accountId: totpFactors.accountId });
  return rows.length > 0;
}

export async function deleteTotpFactor(db: Executor, accountId: string): Promise<boolean> {
  const rows = await db.delete(totpFactors).where(eq(totpFactors.accountId, accountId)).returning({ accountId: totpFactors.accountId });
  return rows.length > 0;
}

/** Replaces every recovery code of the account with the given hashes. */
export async function replaceRecoveryCodes(db: Executor, accountId: string, codeHashes: string[]): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, accountId));
  if (codeHashes.length > 0) await db.insert(recoveryCodes).values(codeHashes.map((codeHash) => ({ codeHash, accountId })));
}

export async function deleteRecoveryCodes(db: Executor, accountId: string): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, accountId));
}

/** Spends one recovery code: true for exactly one caller, however many present it at once. */
export async function useRecoveryCode(db: Executor, accountId: string, codeHash: string): Promise<boolean> {
  const rows = await db
    .update(recoveryCodes)
    .set({ usedAt: sql`now()` })
    .where(and(eq(recoveryCodes.codeHash, codeHash), eq(recoveryCodes.accountId, accountId), isNull(recoveryCodes.usedAt)))
    .returning({ codeHash: recoveryCodes.codeHash });
  return rows.length > 0;
}

export async function unusedRecoveryCodeCount(db: Executor, accountId: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.accountId, accountId), isNull(recoveryCodes.usedAt)));
  return row?.count ?? 0;
}

/** Ends every session of the account but `keepSessionId` (the one making a security change, which just proved who it is). */
export async function revokeOtherSessions(db: Executor, accountId: string, keepSessionId: string, reason: string): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(sessions.accountId, accountId), ne(sessions.id, keepSessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length;
}

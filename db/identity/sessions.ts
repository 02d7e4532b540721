import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { accounts, refreshTokens, sessions } from '../schema/identity';

export async function insertSession(db: Executor, values: typeof sessions.$inferInsert): Promise<string> {
  const [row] = await db.insert(sessions).values(values).returning({ id: sessions.id });
  return row!.id;
}

export async function insertRefreshToken(db: Executor, sessionId: string, tokenHash: string): Promise<void> {
  await db.insert(refreshTokens).values({ sessionId, tokenHash });
}

/** The refresh token with its session and account, locked: two concurrent uses of one token are serialised, and the second sees it replaced. */
export async function lockRefreshToken(tx: Executor, tokenHash: string) {
  const [row] = await tx
    .select({
      tokenHash: refreshTokens.tokenHash,
      replacedAt: refreshTokens.replacedAt,
      sessionId: sessions.id,
      accountId: sessions.accountId,
      authMethods: sessions.authMethods,
      expiresAt: sessions.expiresAt,
      revokedAt: sessions.revokedAt,
      role: accounts.role,
      status: accounts.status,
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .for('update');
  return row;
}

export async function markRefreshTokenReplaced(tx: Executor, tokenHash: string): Promise<void> {
  await tx.update(refreshTokens).set({ replacedAt: sql`now()` }).where(eq(refreshTokens.tokenHash, tokenHash));
}

export async function touchSession(tx: Executor, sessionId: string): Promise<void> {
  await tx.update(sessions).set({ lastUsedAt: sql`now()` }).where(eq(sessions.id, sessionId));
}

/** Revokes one session; true when it was still active. */
export async function revokeSessionRow(db: Executor, sessionId: string, reason: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

export async function revokeAccountSessionRows(db: Executor, accountId: string, reason: string): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(sessions.accountId, accountId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length;
}

/** Whether an access token's session may still act: not revoked, not expired, and its account active. */
export async function sessionIsActive(db: Executor, sessionId: string, accountId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.accountId, accountId),
        isNull(sessions.revokedAt),
        sql`${sessions.expiresAt} > now()`,
        eq(accounts.status, 'active'),
      ),
    );
  return row !== undefined;
}

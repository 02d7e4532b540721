import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { accounts, oneTimeTokens } from '../schema/identity';

export type AccountRow = typeof accounts.$inferSelect;
export type OneTimePurpose = (typeof oneTimeTokens.$inferSelect)['purpose'];

/** Inserts the account; undefined when another account already has this email hash (no exception, no aborted transaction). */
export async function insertAccountUnlessEmailTaken(db: Executor, values: typeof accounts.$inferInsert): Promise<string | undefined> {
  const [row] = await db.insert(accounts).values(values).onConflictDoNothing({ target: accounts.emailHash }).returning({ id: accounts.id });
  return row?.id;
}

export async function accountByEmailHash(db: Executor, emailHash: string): Promise<AccountRow | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.emailHash, emailHash));
  return row;
}

export async function accountById(db: Executor, id: string): Promise<AccountRow | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
  return row;
}

export async function setPasswordHash(db: Executor, accountId: string, passwordHash: string): Promise<void> {
  await db.update(accounts).set({ passwordHash, updatedAt: sql`now()` }).where(eq(accounts.id, accountId));
}

/** Records that the person reads mail at the address; the first proof's time is kept. True when it was not verified before. */
export async function markEmailVerified(db: Executor, accountId: string): Promise<boolean> {
  const rows = await db
    .update(accounts)
    .set({ emailVerifiedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(accounts.id, accountId), isNull(accounts.emailVerifiedAt)))
    .returning({ id: accounts.id });
  return rows.length > 0;
}

export async function insertOneTimeToken(db: Executor, values: { accountId: string; purpose: OneTimePurpose; tokenHash: string; expiresAt: Date }): Promise<void> {
  await db.insert(oneTimeTokens).values(values);
}

/**
 * Uses the token up, if it is live: one statement, so of two concurrent uses exactly one gets the
 * account id and the other nothing. Expiry is judged by the database clock, like `used_at`.
 */
export async function consumeOneTimeToken(db: Executor, tokenHash: string, purpose: OneTimePurpose): Promise<string | undefined> {
  const [row] = await db
    .update(oneTimeTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(oneTimeTokens.tokenHash, tokenHash), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, sql`now()`)))
    .returning({ accountId: oneTimeTokens.accountId });
  return row?.accountId;
}

/** The account of a live token, without using it up (to check a new password before spending the link). */
export async function liveOneTimeToken(db: Executor, tokenHash: string, purpose: OneTimePurpose): Promise<string | undefined> {
  const [row] = await db
    .select({ accountId: oneTimeTokens.accountId })
    .from(oneTimeTokens)
    .where(and(eq(oneTimeTokens.tokenHash, tokenHash), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, sql`now()`)));
  return row?.accountId;
}

/** Ends every unused token of one purpose for the account: only the newest link works, and none after a reset. */
export async function retireOneTimeTokens(db: Executor, accountId: string, purpose: OneTimePurpose): Promise<number> {
  const rows = await db
    .update(oneTimeTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(oneTimeTokens.accountId, accountId), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt)))
    .returning({ id: oneTimeTokens.id });
  return rows.length;
}

import { and, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { signingKeys } from '../schema/identity';

export type SigningKeyRow = typeof signingKeys.$inferSelect;

/** Keys whose signatures are still accepted: the current one, and retired ones until their last token has expired. */
export async function verifyingKeys(db: Executor): Promise<SigningKeyRow[]> {
  return db
    .select()
    .from(signingKeys)
    .where(or(isNull(signingKeys.verifyUntil), gt(signingKeys.verifyUntil, sql`now()`)));
}

/** The newest key, which signs from its `signsFrom` on (possibly still in the future, right after a rotation). */
export async function newestSigningKey(db: Executor): Promise<SigningKeyRow | undefined> {
  const [row] = await db.select().from(signingKeys).where(isNull(signingKeys.retiredAt));
  return row;
}

/** The key signing right now: the newest one whose time has come. */
export async function currentSigningKey(db: Executor): Promise<SigningKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(lte(signingKeys.signsFrom, sql`now()`))
    .orderBy(desc(signingKeys.signsFrom))
    .limit(1);
  return row;
}

/**
 * Adds `next`, signing `publishSeconds` from now, and retires the newest key at that moment: it keeps
 * verifying `verifySeconds` beyond, for the tokens it signed last.
 */
export async function appendSigningKey(db: Executor, next: typeof signingKeys.$inferInsert, timing: { publishSeconds: number; verifySeconds: number }): Promise<void> {
  const signsFrom = sql`now() + make_interval(secs => ${timing.publishSeconds})`;
  await db
    .update(signingKeys)
    .set({ retiredAt: signsFrom, verifyUntil: sql`now() + make_interval(secs => ${timing.publishSeconds + timing.verifySeconds})` })
    .where(isNull(signingKeys.retiredAt));
  await db.insert(signingKeys).values({ ...next, signsFrom });
}

/** Forgets keys that stopped verifying more than a day ago (kept a little longer for investigations). */
export async function pruneSigningKeys(db: Executor): Promise<number> {
  const removed = await db
    .delete(signingKeys)
    .where(and(lt(signingKeys.verifyUntil, sql`now() - interval '1 day'`)))
    .returning({ kid: signingKeys.kid });
  return removed.length;
}

export async function signingKeyByKid(db: Executor, kid: string): Promise<SigningKeyRow | undefined> {
  const [row] = await db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
  return row;
}

/** Serialises key changes between processes (two workers starting, a rotation racing a bootstrap). */
export async function lockSigningKeys(tx: Executor): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))`);
}

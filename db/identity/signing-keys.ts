import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
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

export async function currentSigningKey(db: Executor): Promise<SigningKeyRow | undefined> {
  const [row] = await db.select().from(signingKeys).where(isNull(signingKeys.retiredAt));
  return row;
}

/** Retires the current key (it keeps verifying for `verifySeconds`) and makes `next` current, atomically. */
export async function replaceCurrentKey(db: Executor, next: typeof signingKeys.$inferInsert, verifySeconds: number): Promise<void> {
  await db
    .update(signingKeys)
    .set({ retiredAt: sql`now()`, verifyUntil: sql`now() + make_interval(secs => ${verifySeconds})` })
    .where(isNull(signingKeys.retiredAt));
  await db.insert(signingKeys).values(next);
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

import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { partnerClients } from '../schema/identity';

export type PartnerClientRow = typeof partnerClients.$inferSelect;

/** Creates the client, or gives an existing one (same id) the new secret and scopes; un-revokes it. */
export async function upsertPartnerClient(db: Executor, client: { id: string; name: string; secretHash: string; scopes: string[] }): Promise<void> {
  await db
    .insert(partnerClients)
    .values(client)
    .onConflictDoUpdate({
      target: partnerClients.id,
      set: { name: client.name, secretHash: client.secretHash, scopes: client.scopes, revokedAt: sql`NULL` },
    });
}

/** Creates the client; undefined when the id is taken (revoked clients keep their id, so old tokens never name a new client). */
export async function insertPartnerClient(
  db: Executor,
  client: { id: string; name: string; secretHash: string; scopes: string[] },
): Promise<PartnerClientRow | undefined> {
  const [row] = await db.insert(partnerClients).values(client).onConflictDoNothing({ target: partnerClients.id }).returning();
  return row;
}

export async function partnerClientById(db: Executor, id: string): Promise<PartnerClientRow | undefined> {
  const [row] = await db.select().from(partnerClients).where(eq(partnerClients.id, id));
  return row;
}

/** Clients in id order, after `afterId`; revoked ones included (they explain why a partner's calls fail). */
export function listPartnerClients(db: Executor, options: { limit: number; afterId?: string }): Promise<PartnerClientRow[]> {
  return db
    .select()
    .from(partnerClients)
    .where(options.afterId === undefined ? undefined : gt(partnerClients.id, options.afterId))
    .orderBy(asc(partnerClients.id))
    .limit(options.limit);
}

/** Replaces the secret of a live client; undefined when there is none (unknown or revoked). */
export async function setPartnerSecret(db: Executor, id: string, secretHash: string): Promise<PartnerClientRow | undefined> {
  const [row] = await db
    .update(partnerClients)
    .set({ secretHash })
    .where(and(eq(partnerClients.id, id), isNull(partnerClients.revokedAt)))
    .returning();
  return row;
}

/** Revokes a live client; undefined when there is none to revoke (unknown, or revoked already). */
export async function revokePartnerClientRow(db: Executor, id: string): Promise<PartnerClientRow | undefined> {
  const [row] = await db
    .update(partnerClients)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(partnerClients.id, id), isNull(partnerClients.revokedAt)))
    .returning();
  return row;
}

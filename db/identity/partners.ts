import { sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { partnerClients } from '../schema/identity';

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

import { parseArgs } from 'node:util';
import { appendAudit } from '../../db/audit';
import { createPartnerClient, isPartnerScope, partnerIdPattern } from '../../identity/partners';
import { partnerScopes } from '../../identity/permissions';
import type { Config } from '../../platform/config';
import { connectPostgres } from '../../platform/postgres';

const usage = `usage: npm run identity -- create-partner --id <client id> --name <name> --scopes <scope,scope> (scopes: ${partnerScopes.join(', ')})`;

/** Creates a partner client and prints its secret: the only time it is shown, only its hash is stored. */
export default async function createPartner(args: string[], config: Config): Promise<void> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' } }, strict: true });
  if (!values.id || !values.name?.trim() || !values.scopes) throw new Error(usage);
  if (!partnerIdPattern.test(values.id)) throw new Error(`--id: lower-case letters, digits, ".", "_" or "-", 3 to 64 characters\n${usage}`);
  const scopes = values.scopes.split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !isPartnerScope(scope));
  if (scopes.length === 0 || unknown.length > 0) throw new Error(`--scopes: unknown ${unknown.join(', ') || '(none given)'}\n${usage}`);
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-identity-cli' });
  try {
    const { client, secret } = await postgres.db.transaction(async (tx) => {
      const made = await createPartnerClient(tx, { id: values.id, name: values.name!.trim(), scopes: scopes.filter(isPartnerScope) });
      await appendAudit(tx, { actorType: 'system', action: 'identity.partner_created', targetType: 'partner_client', targetId: made.client.id, details: { name: made.client.name, scopes: made.client.scopes, via: 'cli' } });
      return made;
    });
    // The one place a secret is printed: to the operator's terminal, on purpose, once.
    console.log(`client_id=${client.id}\nclient_secret=${secret}\nscopes=${client.scopes.join(' ')}\nStore the secret now; it cannot be shown again (rotate it with POST /v1/admin/partners/${client.id}/secret).`);
  } finally {
    await postgres.close();
  }
}

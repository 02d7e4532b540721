import { randomBytes } from 'node:crypto';
import { upsertPartnerClient } from '../../db/identity/partners';
import { TokenService } from '../../identity/tokens';
import type { Config } from '../../platform/config';
import { hashPassword } from '../../platform/passwords';
import { connectPostgres } from '../../platform/postgres';

/**
 * An access token for the development scripts that load data (`npm start`'s demo catalog, the
 * benchmark): a partner client `dev-loader` holding only `catalog:import`, whose token is signed here
 * directly. Its secret is random and thrown away: nothing else can use this client.
 */
export async function devLoaderToken(config: Config): Promise<string> {
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-scripts' });
  try {
    await upsertPartnerClient(postgres.db, {
      id: 'dev-loader',
      name: 'Development data loader',
      secretHash: await hashPassword(randomBytes(32).toString('base64url')),
      scopes: ['catalog:import'],
    });
    const tokens = new TokenService({ db: postgres.db, config });
    return (await tokens.signPartnerToken({ clientId: 'dev-loader', scopes: ['catalog:import'] })).accessToken;
  } finally {
    await postgres.close();
  }
}

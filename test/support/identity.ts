import type { Role } from '../../db/schema/identity';
import { insertAccount } from '../../identity/accounts';
import { startSession, type IssuedTokens } from '../../identity/sessions';
import { staffRoles } from '../../identity/permissions';
import { TokenService } from '../../identity/tokens';
import type { Config } from '../../platform/config';
import { connectPostgres } from '../../platform/postgres';
import { randomUUID } from 'node:crypto';

export interface SignedIn {
  accountId: string;
  email: string;
  tokens: IssuedTokens;
  headers: Record<string, string>;
}

/**
 * An account of `role`, signed in. Staff sessions carry a second factor (`otp`) unless `mfa: false`,
 * as they would after a real TOTP login. The account is made directly in the database: tests of the
 * sign-in routes themselves go through HTTP.
 */
export async function signedInAs(config: Config, role: Role, options: { mfa?: boolean; email?: string } = {}): Promise<SignedIn> {
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-test' });
  try {
    const email = options.email ?? `${role}-${randomUUID()}@test.comptoir.dev`;
    const accountId = await insertAccount(postgres.db, config, { email, role, emailVerified: true });
    const withMfa = options.mfa ?? staffRoles.has(role);
    const deps = { db: postgres.db, config, tokens: new TokenService({ db: postgres.db, config }) };
    const tokens = await startSession(deps, accountId, withMfa ? ['pwd', 'otp'] : ['pwd']);
    return { accountId, email, tokens, headers: { authorization: `Bearer ${tokens.access_token}` } };
  } finally {
    await postgres.close();
  }
}

const adminTokens = new Map<string, Promise<SignedIn>>();

/** Headers of a signed-in admin (one per database, made on first use), with a JSON content type by default. */
export async function adminHeaders(config: Config, contentType = 'application/json'): Promise<Record<string, string>> {
  let admin = adminTokens.get(config.DATABASE_URL);
  if (!admin) adminTokens.set(config.DATABASE_URL, (admin = signedInAs(config, 'admin')));
  return { ...(await admin).headers, 'content-type': contentType };
}

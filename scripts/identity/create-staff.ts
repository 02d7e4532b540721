import { parseArgs } from 'node:util';
import { appendAudit } from '../../db/audit';
import { roles, staffRoles, type Role } from '../../identity/permissions';
import { provisionStaff } from '../../identity/staff';
import type { Config } from '../../platform/config';
import { hashPassword, passwordProblems } from '../../platform/passwords';
import { connectPostgres } from '../../platform/postgres';

const usage = 'usage: npm run identity -- create-staff --email <address> --role <support|catalog_manager|ops|admin> [--password <password>]';

/**
 * Creates a staff account, the first admin included. Without --password the person signs in through the
 * staff identity provider (STAFF_OIDC_ISSUER) only. Either way, staff permissions need a second factor:
 * TOTP enrolled after the first password sign-in, or MFA at the identity provider.
 */
export default async function createStaff(args: string[], config: Config): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' } }, strict: true });
  if (!values.email || !values.role) throw new Error(usage);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(values.email) || values.email.length > 254) throw new Error(`--email: not an email address\n${usage}`);
  if (!(roles as readonly string[]).includes(values.role) || !staffRoles.has(values.role as Role)) throw new Error(`--role: must be one of ${[...staffRoles].join(', ')}`);
  const role = values.role as Role;
  if (values.password !== undefined) {
    const problems = passwordProblems(values.password, { email: values.email });
    if (problems.length > 0) throw new Error(`--password: ${problems.join(' ')}`);
  }
  const passwordHash = values.password === undefined ? undefined : await hashPassword(values.password);
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-identity-cli' });
  try {
    const accountId = await postgres.db.transaction(async (tx) => {
      const id = await provisionStaff(tx, config, { email: values.email!, role, passwordHash });
      await appendAudit(tx, { actorType: 'system', action: 'identity.staff_created', targetType: 'account', targetId: id, details: { role, via: 'cli', password: passwordHash !== undefined } });
      return id;
    });
    console.log(`staff account ${accountId} (${role}) created; ${passwordHash ? 'sign in with the password, then enrol TOTP' : 'sign in through the staff identity provider'}`);
  } finally {
    await postgres.close();
  }
}

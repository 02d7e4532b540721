/**
 * Staff accounts: provisioning and role changes. A role is carried inside every access token, so a
 * change ends the account's sessions: the person signs in again and the new token says the new role,
 * instead of the old one lingering for up to ACCESS_TOKEN_TTL_SECONDS.
 */
import { eq, sql } from 'drizzle-orm';
import { accounts } from '../db/schema/identity';
import type { Config } from '../platform/config';
import type { Executor } from '../platform/postgres';
import { accountByEmail, insertAccount } from './accounts';
import { staffRoles, type Role } from './permissions';
import { revokeAccountSessions } from './sessions';

export class StaffError extends Error {
  override name = 'StaffError';
  constructor(
    readonly reason: 'email_taken' | 'not_staff_role' | 'not_found' | 'self_demotion',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates a staff account without personal data beyond the email. Without `passwordHash` it can sign
 * in only through the staff identity provider (`identity/staff-sso.ts`) or after a password reset.
 */
export async function provisionStaff(db: Executor, config: Pick<Config, 'pii'>, input: { email: string; role: Role; passwordHash?: string }): Promise<string> {
  if (!staffRoles.has(input.role)) throw new StaffError('not_staff_role', `${input.role} is not a staff role`);
  if (await accountByEmail(db, config, input.email)) throw new StaffError('email_taken', 'An account with this email exists; change its role instead');
  try {
    // The company vouches for a staff address: it counts as verified, which SSO linking relies on.
    return await insertAccount(db, config, { email: input.email, role: input.role, passwordHash: input.passwordHash ?? null, emailVerified: true });
  } catch (error) {
    // Two provisionings of one address at once: the unique email hash lets one through.
    if (isUniqueViolation(error)) throw new StaffError('email_taken', 'An account with this email exists; change its role instead');
    throw error;
  }
}

export interface RoleChange {
  from: Role;
  to: Role;
  /** False when the account already had the role: nothing was revoked or recorded. */
  changed: boolean;
  sessionsRevoked: number;
}

/**
 * Gives `accountId` a new role and ends its sessions, inside the caller's transaction (which records
 * the audit event). The row is locked, so two admins changing one role at once are serialised and each
 * audit event's `from` is what that change really replaced. An admin cannot lower their own role: the
 * last admin could otherwise lock everyone out of staff management.
 */
export async function changeRole(tx: Executor, input: { actorAccountId: string | undefined; accountId: string; role: Role }): Promise<RoleChange> {
  const [row] = await tx.select({ role: accounts.role, status: accounts.status }).from(accounts).where(eq(accounts.id, input.accountId)).for('update');
  if (!row || row.status === 'erased') throw new StaffError('not_found', `No account ${input.accountId}`);
  if (row.role === input.role) return { from: row.role, to: row.role, changed: false, sessionsRevoked: 0 };
  if (input.actorAccountId === input.accountId) throw new StaffError('self_demotion', 'You cannot change your own role; ask another admin');
  await tx.update(accounts).set({ role: input.role, updatedAt: sql`now()` }).where(eq(accounts.id, input.accountId));
  const sessionsRevoked = await revokeAccountSessions(tx, input.accountId, 'role_changed');
  return { from: row.role, to: input.role, changed: true, sessionsRevoked };
}

/** What staff management may see of an account: no personal data, encrypted or not. */
export async function staffAccountView(db: Executor, accountId: string) {
  const [row] = await db
    .select({ id: accounts.id, role: accounts.role, status: accounts.status, createdAt: accounts.createdAt })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return row && { id: row.id, role: row.role, status: row.status, createdAt: row.createdAt.toISOString() };
}

/** Postgres 23505, wherever the driver or drizzle nested it. */
function isUniqueViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if ((current as { code?: unknown }).code === '23505') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Accounts: registration, email verification, the password step of sign-in, password reset.
 *
 * No enumeration: whoever asks, the answers are the same whether or not an email has an account, and
 * the expensive step (scrypt) is paid either way. What differs happens out of band: the owner of the
 * address receives a verification link, a reset link, or a notice that an account already exists.
 */
import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../db/audit';
import {
  accountByEmailHash,
  accountById,
  insertAccountUnlessEmailTaken,
  markEmailVerified,
  setPasswordHash,
  type AccountRow,
} from '../db/identity/accounts';
import { enqueueNotification, recentlyNotified } from '../db/notifications';
import { accounts, type Role } from '../db/schema/identity';
import type { Config } from '../platform/config';
import { dummyVerify, hashPassword, needsRehash, passwordProblems, verifyPassword } from '../platform/passwords';
import { decryptPii, encryptPii, lookupHash, normaliseEmail } from '../platform/pii';
import type { Database, Executor } from '../platform/postgres';
import { issueOneTimeToken, peekOneTimeToken, retireOneTimeTokens, useOneTimeToken } from './one-time-tokens';
import { piiFields } from './pii-fields';
import { revokeAccountSessions, type AuditOrigin } from './sessions';

export type { AccountRow };

export interface NewAccount {
  email: string;
  role?: Role;
  /** Already hashed (`hashPassword`); omitted for staff who only use single sign-on. */
  passwordHash?: string | null;
  emailVerified?: boolean;
  /** BCP 47 tag, e.g. `fr-FR`. */
  language?: string | null;
}

function accountValues(config: Pick<Config, 'pii'>, id: string, account: NewAccount): typeof accounts.$inferInsert {
  return {
    id,
    emailHash: emailLookupHash(config, account.email),
    emailEnc: encryptPii(config.pii.keyring, normaliseEmail(account.email), piiFields.accountEmail.context(id)),
    passwordHash: account.passwordHash ?? null,
    role: account.role ?? 'customer',
    emailVerifiedAt: account.emailVerified ? new Date() : null,
    language: account.language ?? null,
  };
}

/** Inserts an account with its email encrypted and hashed for lookup. Throws on a duplicate email (unique violation). */
export async function insertAccount(db: Executor, config: Pick<Config, 'pii'>, account: NewAccount): Promise<string> {
  const id = randomUUID();
  await db.insert(accounts).values(accountValues(config, id, account));
  return id;
}

/** The keyed hash accounts are found by; also the subject of per-account rate limits, so no email is ever a Redis key. */
export function emailLookupHash(config: Pick<Config, 'pii'>, email: string): string {
  return lookupHash(config.pii.lookupKey, email);
}

export async function accountByEmail(db: Executor, config: Pick<Config, 'pii'>, email: string) {
  const [row] = await db.select().from(accounts).where(eq(accounts.emailHash, emailLookupHash(config, email)));
  return row;
}

export function decryptEmail(config: Pick<Config, 'pii'>, account: { id: string; emailEnc: string | null }): string | undefined {
  return account.emailEnc ? decryptPii(config.pii.keyring, account.emailEnc, piiFields.accountEmail.context(account.id)) : undefined;
}

/** At most one "you already have an account" notice per account per hour, however often someone tries its address. */
const accountExistsNoticeIntervalMs = 3_600_000;

export interface Registration {
  email: string;
  password: string;
  language?: string | undefined;
}

/**
 * Registers an account and queues its verification link, in one transaction. When the email already
 * has an account nothing is created and its owner is told instead; the caller answers the same either
 * way. Returns the id of the account created, for tests and logs only.
 */
export async function registerAccount(db: Database, config: Pick<Config, 'pii'>, registration: Registration, origin: AuditOrigin): Promise<{ created: string | undefined }> {
  // Hashed before knowing whether the email is taken: both answers cost one scrypt.
  const passwordHash = await hashPassword(registration.password);
  const email = normaliseEmail(registration.email);
  return db.transaction(async (tx) => {
    const id = randomUUID();
    const created = await insertAccountUnlessEmailTaken(tx, accountValues(config, id, { email, passwordHash, language: registration.language ?? null }));
    if (created) {
      const { token, expiresAt } = await issueOneTimeToken(tx, created, 'verify_email');
      await enqueueNotification(tx, config, {
        accountId: created,
        template: 'verify_email',
        recipient: email,
        payload: { token, expiresAt: expiresAt.toISOString(), language: registration.language ?? null },
      });
      await appendAudit(tx, { actorType: 'anonymous', action: 'identity.account_registered', targetType: 'account', targetId: created, ...origin });
      return { created };
    }
    const existing = await accountByEmailHash(tx, emailLookupHash(config, email));
    if (existing?.status === 'active' && !(await recentlyNotified(tx, existing.id, 'account_exists', accountExistsNoticeIntervalMs))) {
      await enqueueNotification(tx, config, {
        accountId: existing.id,
        template: 'account_exists',
        recipient: decryptEmail(config, existing) ?? email,
        payload: { language: existing.language },
      });
    }
    if (existing) {
      await appendAudit(tx, { actorType: 'anonymous', action: 'identity.registration_for_existing_account', targetType: 'account', targetId: existing.id, ...origin });
    }
    return { created: undefined };
  });
}

/** Uses a verification link. The account id when it worked; undefined for an unknown, used or expired link. */
export async function verifyEmail(db: Database, token: string, origin: AuditOrigin): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const accountId = await useOneTimeToken(tx, token, 'verify_email');
    if (!accountId) return undefined;
    const firstTime = await markEmailVerified(tx, accountId);
    await retireOneTimeTokens(tx, accountId, 'verify_email');
    await appendAudit(tx, { actorType: 'account', actorId: accountId, action: 'identity.email_verified', targetType: 'account', targetId: accountId, details: { firstTime }, ...origin });
    return accountId;
  });
}

export type PasswordCheck =
  | { ok: true; account: AccountRow }
  /** `accountId` when the email names an account (for the audit log only: the caller's answer is the same). */
  | { ok: false; accountId: string | undefined; reason: 'unknown_account' | 'no_password' | 'wrong_password' };

/**
 * The password step of sign-in. Every failure costs one scrypt, like a success, so the time taken does
 * not tell whether the email has an account. A hash made with older parameters is upgraded on success.
 */
export async function checkPassword(db: Executor, config: Pick<Config, 'pii'>, email: string, password: string): Promise<PasswordCheck> {
  const account = await accountByEmailHash(db, emailLookupHash(config, email));
  if (!account) {
    await dummyVerify();
    return { ok: false, accountId: undefined, reason: 'unknown_account' };
  }
  if (!account.passwordHash) {
    // Staff who sign in through the company's identity provider only.
    await dummyVerify();
    return { ok: false, accountId: account.id, reason: 'no_password' };
  }
  if (!(await verifyPassword(password, account.passwordHash))) return { ok: false, accountId: account.id, reason: 'wrong_password' };
  if (needsRehash(account.passwordHash)) await setPasswordHash(db, account.id, await hashPassword(password));
  return { ok: true, account };
}

/**
 * Queues a reset link for the account the email names, if there is an active one with a password
 * (staff who only use single sign-on get none: a reset would give them a second way in). Returns the
 * account id when a link was queued, for tests and logs only.
 */
export async function requestPasswordReset(db: Database, config: Pick<Config, 'pii'>, email: string, origin: AuditOrigin): Promise<string | undefined> {
  const account = await accountByEmailHash(db, emailLookupHash(config, email));
  if (account?.status !== 'active' || !account.passwordHash) return undefined;
  return db.transaction(async (tx) => {
    const { token, expiresAt } = await issueOneTimeToken(tx, account.id, 'reset_password');
    await enqueueNotification(tx, config, {
      accountId: account.id,
      template: 'reset_password',
      recipient: decryptEmail(config, account) ?? normaliseEmail(email),
      payload: { token, expiresAt: expiresAt.toISOString(), language: account.language },
    });
    await appendAudit(tx, { actorType: 'anonymous', action: 'identity.password_reset_requested', targetType: 'account', targetId: account.id, ...origin });
    return account.id;
  });
}

export type PasswordResetOutcome =
  | { ok: true; accountId: string; emailHash: string; sessionsRevoked: number }
  | { ok: false; reason: 'invalid_token' }
  | { ok: false; reason: 'weak_password'; problems: string[] };

/**
 * Sets a new password with a reset link. The password is checked before the link is used up, so a
 * weak one can be corrected with the same link. On success every session of the account ends (whoever
 * knew the old password is signed out) and the address counts as verified: the link was mailed to it.
 */
export async function resetPassword(db: Database, config: Pick<Config, 'pii'>, token: string, password: string, origin: AuditOrigin): Promise<PasswordResetOutcome> {
  const accountId = await peekOneTimeToken(db, token, 'reset_password');
  const account = accountId ? await accountById(db, accountId) : undefined;
  if (!account || account.status !== 'active' || !account.emailHash) return { ok: false, reason: 'invalid_token' };
  const problems = passwordProblems(password, { email: decryptEmail(config, account) });
  if (problems.length > 0) return { ok: false, reason: 'weak_password', problems };
  const passwordHash = await hashPassword(password);
  const emailHash = account.emailHash;
  return db.transaction(async (tx): Promise<PasswordResetOutcome> => {
    // Used up here, not when peeked: of two concurrent resets with one link, only one gets through.
    if ((await useOneTimeToken(tx, token, 'reset_password')) !== account.id) return { ok: false, reason: 'invalid_token' };
    await setPasswordHash(tx, account.id, passwordHash);
    await markEmailVerified(tx, account.id);
    await retireOneTimeTokens(tx, account.id, 'reset_password');
    const sessionsRevoked = await revokeAccountSessions(tx, account.id, 'password_reset');
    await appendAudit(tx, {
      actorType: 'account',
      actorId: account.id,
      action: 'identity.password_reset',
      targetType: 'account',
      targetId: account.id,
      details: { sessionsRevoked },
      ...origin,
    });
    return { ok: true, accountId: account.id, emailHash, sessionsRevoked };
  });
}

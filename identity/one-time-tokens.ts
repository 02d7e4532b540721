/**
 * Single-use tokens mailed to an account holder: email verification (24 h) and password reset (1 h).
 * 256 random bits, so they cannot be guessed; only their SHA-256 is stored, so a database leak hands
 * out no working link; used up in one statement, so a link works once even when clicked twice at once.
 */
import { randomBytes } from 'node:crypto';
import { consumeOneTimeToken, insertOneTimeToken, liveOneTimeToken, retireOneTimeTokens, type OneTimePurpose } from '../db/identity/accounts';
import type { Executor } from '../platform/postgres';
import { hashToken } from './sessions';

export type { OneTimePurpose };

const hour = 3_600_000;

export const oneTimeTokenLifetimeMs: Record<OneTimePurpose, number> = {
  verify_email: 24 * hour,
  reset_password: hour,
};

// Recognisable prefixes let secret scanners spot a leaked token, and let us refuse one sent to the wrong route without a lookup.
const prefixes: Record<OneTimePurpose, string> = { verify_email: 'cve_', reset_password: 'cpr_' };

export interface IssuedOneTimeToken {
  token: string;
  expiresAt: Date;
}

/** A new token for the account. For a password reset, earlier unused reset links stop working: only the newest one does. */
export async function issueOneTimeToken(tx: Executor, accountId: string, purpose: OneTimePurpose): Promise<IssuedOneTimeToken> {
  if (purpose === 'reset_password') await retireOneTimeTokens(tx, accountId, purpose);
  const token = `${prefixes[purpose]}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(Date.now() + oneTimeTokenLifetimeMs[purpose]);
  await insertOneTimeToken(tx, { accountId, purpose, tokenHash: hashToken(token), expiresAt });
  return { token, expiresAt };
}

/** Uses the token up; the account id when it was live (right purpose, unused, unexpired), otherwise undefined. */
export async function useOneTimeToken(tx: Executor, token: string, purpose: OneTimePurpose): Promise<string | undefined> {
  if (!token.startsWith(prefixes[purpose])) return undefined;
  return consumeOneTimeToken(tx, hashToken(token), purpose);
}

/** The account of a live token, leaving it usable. */
export async function peekOneTimeToken(db: Executor, token: string, purpose: OneTimePurpose): Promise<string | undefined> {
  if (!token.startsWith(prefixes[purpose])) return undefined;
  return liveOneTimeToken(db, hashToken(token), purpose);
}

export { retireOneTimeTokens };

/**
 * Sessions and their refresh tokens. A session is one sign-in; its refresh tokens form a family where
 * each use hands out the next token and retires the one presented. A retired token presented again
 * means it was copied: the whole session is revoked, for the thief and the owner alike, and the owner
 * signs in again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendAudit, type AuditEntry } from '../db/audit';
import {
  insertRefreshToken,
  insertSession,
  lockRefreshToken,
  markRefreshTokenReplaced,
  revokeAccountSessionRows,
  revokeSessionRow,
  touchSession,
} from '../db/identity/sessions';
import { accounts } from '../db/schema/identity';
import { eq } from 'drizzle-orm';
import type { Config } from '../platform/config';
import type { Database, Executor } from '../platform/postgres';
import type { TokenService } from './tokens';

export interface IdentityDeps {
  db: Database;
  config: Config;
  tokens: TokenService;
}

/** What a successful sign-in or refresh returns (RFC 6749 §5.1 field names). */
export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

/** Where a security event came from, for the audit log. */
export type AuditOrigin = Pick<AuditEntry, 'ip' | 'requestId'>;

export class InvalidRefreshToken extends Error {
  override name = 'InvalidRefreshToken';
}

const refreshTokenPrefix = 'crt_';
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');
const newRefreshToken = () => `${refreshTokenPrefix}${randomBytes(32).toString('base64url')}`;

/**
 * Opens a session for an account that has just proved who it is (`authMethods`: `pwd`, `otp`, `oidc`…)
 * and returns its first tokens. Pass the transaction that records the sign-in, if any.
 */
export async function startSession(deps: IdentityDeps, accountId: string, authMethods: string[], db: Executor = deps.db): Promise<IssuedTokens> {
  const [account] = await db.select({ role: accounts.role }).from(accounts).where(eq(accounts.id, accountId));
  if (!account) throw new Error(`no account ${accountId}`);
  const refreshToken = newRefreshToken();
  const sessionId = await insertSession(db, {
    accountId,
    authMethods,
    expiresAt: new Date(Date.now() + deps.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000),
  });
  await insertRefreshToken(db, sessionId, hashToken(refreshToken));
  const access = await deps.tokens.signAccountToken({ accountId, role: account.role, sessionId, authMethods });
  return { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken };
}

/** Exchanges a refresh token for a new pair. Throws `InvalidRefreshToken` for anything but a live, unused token. */
export async function refreshSession(deps: IdentityDeps, refreshToken: string, origin: AuditOrigin): Promise<IssuedTokens> {
  if (!refreshToken.startsWith(refreshTokenPrefix)) throw new InvalidRefreshToken('not a refresh token');
  const outcome = await deps.db.transaction(async (tx) => {
    const row = await lockRefreshToken(tx, hashToken(refreshToken));
    if (!row) return { error: 'unknown refresh token' } as const;
    if (row.revokedAt) return { error: 'the session has ended' } as const;
    if (row.replacedAt) {
      await revokeSessionRow(tx, row.sessionId, 'refresh_token_reuse');
      await appendAudit(tx, {
        actorType: 'anonymous',
        action: 'identity.refresh_token_reused',
        targetType: 'account',
        targetId: row.accountId,
        details: { sessionId: row.sessionId },
        ...origin,
      });
      return { error: 'this refresh token was already used; the session is revoked' } as const;
    }
    if (row.expiresAt.getTime() <= Date.now()) return { error: 'the session has expired' } as const;
    if (row.status !== 'active') {
      await revokeSessionRow(tx, row.sessionId, 'account_inactive');
      return { error: 'the account is not active' } as const;
    }
    await markRefreshTokenReplaced(tx, row.tokenHash);
    const next = newRefreshToken();
    await insertRefreshToken(tx, row.sessionId, hashToken(next));
    await touchSession(tx, row.sessionId);
    const access = await deps.tokens.signAccountToken({ accountId: row.accountId, role: row.role, sessionId: row.sessionId, authMethods: row.authMethods });
    return { tokens: { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: next } satisfies IssuedTokens };
  });
  // The reuse revocation must commit even though the caller gets an error: hence a result, not a throw, inside the transaction.
  if ('error' in outcome) throw new InvalidRefreshToken(outcome.error);
  return outcome.tokens;
}

/** Ends one session (logout): its refresh tokens stop working at once, its access tokens at their next request. */
export function revokeSession(db: Executor, sessionId: string, reason: string): Promise<boolean> {
  return revokeSessionRow(db, sessionId, reason);
}

/** Ends every session of an account (password reset, role change, erasure, "sign out everywhere"). */
export function revokeAccountSessions(db: Executor, accountId: string, reason: string): Promise<number> {
  return revokeAccountSessionRows(db, accountId, reason);
}

/**
 * Partner clients: machines (payment provider, carriers, suppliers) that sign in with OAuth 2 client
 * credentials (RFC 6749 §4.4). The secret is random, shown once, and stored only as a scrypt hash; a
 * client is granted a few machine scopes and each token may ask for fewer. Revoking a client stops its
 * live tokens at their next request (`api/auth.ts` checks `revoked_at`); a rotated secret only stops new
 * tokens being issued under the old one, so a leaked secret is rotated AND the old tokens expire within
 * ACCESS_TOKEN_TTL_SECONDS — revoke the client when that is too long.
 */
import { randomBytes } from 'node:crypto';
import {
  insertPartnerClient,
  partnerClientById,
  revokePartnerClientRow,
  setPartnerSecret,
  type PartnerClientRow,
} from '../db/identity/partners';
import { dummyVerify, hashPassword, verifyPassword } from '../platform/passwords';
import type { Executor } from '../platform/postgres';
import { partnerScopes, type PartnerScope } from './permissions';
import type { IdentityDeps } from './sessions';

/** Lower-case letters, digits, `.`, `_`, `-`: safe in HTTP Basic (no `:`) and in logs. */
export const partnerIdPattern = /^[a-z0-9][a-z0-9._-]{2,63}$/;
const secretPrefix = 'pcs_';
/** Longer than any secret we issue; bounds the scrypt input an anonymous caller can send. */
export const maxSecretLength = 200;

export const newPartnerSecret = () => `${secretPrefix}${randomBytes(32).toString('base64url')}`;
const newPartnerId = () => `partner-${randomBytes(8).toString('hex')}`;

export function isPartnerScope(scope: string): scope is PartnerScope {
  return (partnerScopes as readonly string[]).includes(scope);
}

/** What admins see of a client: never the secret or its hash. */
export function partnerView(client: PartnerClientRow) {
  return {
    id: client.id,
    name: client.name,
    scopes: client.scopes,
    createdAt: client.createdAt.toISOString(),
    revokedAt: client.revokedAt?.toISOString() ?? null,
  };
}
export type PartnerView = ReturnType<typeof partnerView>;

export class PartnerIdTaken extends Error {
  override name = 'PartnerIdTaken';
}

/** Creates a client and returns its secret, the only time it exists in clear. Throws `PartnerIdTaken`. */
export async function createPartnerClient(
  db: Executor,
  input: { id?: string; name: string; scopes: PartnerScope[] },
): Promise<{ client: PartnerClientRow; secret: string }> {
  const secret = newPartnerSecret();
  const id = input.id ?? newPartnerId();
  const client = await insertPartnerClient(db, { id, name: input.name, scopes: [...new Set(input.scopes)], secretHash: await hashPassword(secret) });
  if (!client) throw new PartnerIdTaken(`a partner client ${id} exists already (revoked clients keep their id)`);
  return { client, secret };
}

/** A new secret for a live client; the old one stops working at once. Undefined when the client is unknown or revoked. */
export async function rotatePartnerSecret(db: Executor, id: string): Promise<{ client: PartnerClientRow; secret: string } | undefined> {
  const secret = newPartnerSecret();
  const client = await setPartnerSecret(db, id, await hashPassword(secret));
  return client && { client, secret };
}

/** Revokes a live client; undefined when it is unknown or revoked already. */
export function revokePartnerClient(db: Executor, id: string): Promise<PartnerClientRow | undefined> {
  return revokePartnerClientRow(db, id);
}

/** RFC 6749 §5.2 error codes this token endpoint answers with. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type';

export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly error: OAuthErrorCode,
    message: string,
    /** The client concerned, when it exists (for the audit log only: the answer never says). */
    readonly clientId?: string,
    /** Why client authentication failed, for the audit log only. */
    readonly reason?: 'unknown_client' | 'wrong_secret' | 'revoked',
  ) {
    super(message);
  }
}

/**
 * The client whose credentials these are, or `OAuthError('invalid_client')`. An unknown id costs one
 * scrypt like a wrong secret does, and every failure reads the same, so neither answers nor timings
 * say which client ids exist or are revoked.
 */
export async function authenticatePartnerClient(db: Executor, clientId: string, secret: string): Promise<PartnerClientRow> {
  const client = partnerIdPattern.test(clientId) && secret.length <= maxSecretLength ? await partnerClientById(db, clientId) : undefined;
  const matches = client ? await verifyPassword(secret, client.secretHash) : await dummyVerify();
  const failed = (reason: 'unknown_client' | 'wrong_secret' | 'revoked') => new OAuthError('invalid_client', 'Client authentication failed', client?.id, reason);
  if (!client) throw failed('unknown_client');
  if (!matches) throw failed('wrong_secret');
  if (client.revokedAt) throw failed('revoked');
  return client;
}

/**
 * The scopes a token gets: all the client holds, or the subset `requested` names (space-separated,
 * RFC 6749 §3.3). Asking for a scope the client does not hold is `invalid_scope`, not a silent trim:
 * a partner misconfigured that way should find out at once.
 */
export function tokenScopes(granted: readonly string[], requested: string | undefined, clientId?: string): PartnerScope[] {
  // A grant made before a scope was retired must not mint tokens TokenService would refuse to read.
  const held = granted.filter(isPartnerScope);
  if (requested === undefined) {
    if (held.length === 0) throw new OAuthError('invalid_scope', 'This client holds no scope', clientId);
    return held;
  }
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  const refused = asked.filter((scope) => !held.includes(scope as PartnerScope));
  if (asked.length === 0) throw new OAuthError('invalid_scope', 'scope names no scope', clientId);
  if (refused.length > 0) throw new OAuthError('invalid_scope', `This client may not ask for: ${refused.join(' ')}`, clientId);
  return asked as PartnerScope[];
}

/** RFC 6749 §5.1 for client credentials: no refresh token (§4.4.3), the client asks again. */
export interface PartnerTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** Client credentials grant: authenticates the client and signs a token for the scopes it may have. */
export async function issuePartnerToken(
  deps: IdentityDeps,
  credentials: { clientId: string; secret: string },
  requestedScope: string | undefined,
): Promise<{ clientId: string; response: PartnerTokenResponse }> {
  const client = await authenticatePartnerClient(deps.db, credentials.clientId, credentials.secret);
  const scopes = tokenScopes(client.scopes, requestedScope, client.id);
  const signed = await deps.tokens.signPartnerToken({ clientId: client.id, scopes });
  return {
    clientId: client.id,
    response: { access_token: signed.accessToken, token_type: 'Bearer', expires_in: signed.expiresIn, scope: scopes.join(' ') },
  };
}

/**
 * Access tokens: short-lived JWTs (RFC 9068 `at+jwt`) signed with ES256 under the current signing key,
 * verified against every key still published in the JWKS. Anything unexpected — another algorithm
 * (`none` included), an unknown or retired `kid`, another issuer or audience, an expired token, a
 * missing claim — is an `InvalidToken`, whose reason is safe to show.
 */
import { decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import { verifyingKeys } from '../db/identity/signing-keys';
import type { Config } from '../platform/config';
import { decryptPii } from '../platform/pii';
import type { Database } from '../platform/postgres';
import { partnerScopes, roles, type PartnerScope, type Principal, type Role } from './permissions';
import { piiFields } from './pii-fields';
import { clockSkewSeconds, ensureSigningKey, keyCacheSeconds, signingAlgorithm } from './signing-keys';

export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

const accessTokenType = 'at+jwt';
const partnerSubjectPrefix = 'partner:';
/** An unknown kid makes us re-read the keys, but at most this often: a flood of forged kids cannot hammer Postgres. */
const unknownKidRefreshMs = 5_000;

interface VerifyingKey {
  key: CryptoKey;
  jwk: JWK;
  signsFrom: Date;
  /** Null while the key is the newest. */
  verifyUntil: Date | null;
  privateJwkEnc: string;
}

export interface SignedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export type AccountClaims = { accountId: string; role: Role; sessionId: string; authMethods: string[] };
export type PartnerClaims = { clientId: string; scopes: PartnerScope[] };

export class TokenService {
  private keys = new Map<string, VerifyingKey>();
  private signingKeys = new Map<string, CryptoKey>();
  private loadedAt = 0;
  private loading?: Promise<void>;

  constructor(private readonly deps: { db: Database; config: Config }) {}

  /** Signs an access token for a person's session. */
  signAccountToken(claims: AccountClaims): Promise<SignedAccessToken> {
    return this.sign(claims.accountId, { sid: claims.sessionId, role: claims.role, amr: claims.authMethods });
  }

  /** Signs an access token for a partner client (OAuth 2 client credentials). */
  signPartnerToken(claims: PartnerClaims): Promise<SignedAccessToken> {
    return this.sign(`${partnerSubjectPrefix}${claims.clientId}`, { client_id: claims.clientId, scope: claims.scopes.join(' ') });
  }

  private async sign(subject: string, claims: JWTPayload): Promise<SignedAccessToken> {
    const signing = await this.signingKey();
    const ttl = this.deps.config.ACCESS_TOKEN_TTL_SECONDS;
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: signingAlgorithm, kid: signing.kid, typ: accessTokenType })
      .setIssuer(this.deps.config.JWT_ISSUER)
      .setAudience(this.deps.config.JWT_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .setJti(randomUUID())
      .sign(signing.key);
    return { accessToken, expiresIn: ttl };
  }

  /** The principal a token speaks for. Throws `InvalidToken`; never says more than why. */
  async verify(token: string): Promise<Principal> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidToken('the token is not a JWT');
    }
    if (header.alg !== signingAlgorithm) throw new InvalidToken(`tokens are signed with ${signingAlgorithm}`);
    if (header.typ !== accessTokenType) throw new InvalidToken('not an access token');
    if (typeof header.kid !== 'string') throw new InvalidToken('the token names no key');
    const verifying = await this.verifyingKey(header.kid);
    if (!verifying) throw new InvalidToken('the token was signed with an unknown or retired key');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, verifying.key, {
        algorithms: [signingAlgorithm],
        typ: accessTokenType,
        issuer: this.deps.config.JWT_ISSUER,
        audience: this.deps.config.JWT_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        clockTolerance: clockSkewSeconds,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new InvalidToken('the token has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw new InvalidToken(`the token's ${error.claim} claim is not accepted`);
      throw new InvalidToken('the token signature is not valid');
    }
    return principalFromClaims(payload);
  }

  /** The public keys that verify tokens today, for `/.well-known/jwks.json`. */
  async publishedKeys(): Promise<JWK[]> {
    await this.load(false);
    return [...this.keys.values()].filter(stillVerifies).map((entry) => entry.jwk);
  }

  /** Drops the cached keys: the next call reads them again (after a rotation in this process). */
  forget(): void {
    this.loadedAt = 0;
  }

  /** The newest loaded key whose signing time has come: a key rotated in elsewhere takes over here on time, without a reload. */
  private async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    await this.load(false);
    let due = this.dueKey();
    if (!due) {
      await ensureSigningKey(this.deps.db, this.deps.config);
      await this.load(true);
      due = this.dueKey();
    }
    if (!due) throw new Error('no signing key is due yet');
    let key = this.signingKeys.get(due[0]);
    if (!key) {
      const privateJwk = JSON.parse(decryptPii(this.deps.config.pii.keyring, due[1].privateJwkEnc, piiFields.signingKeyPrivate.context(due[0]))) as JWK;
      key = (await importJWK(privateJwk, signingAlgorithm)) as CryptoKey;
      this.signingKeys.set(due[0], key);
    }
    return { kid: due[0], key };
  }

  private dueKey(): [string, VerifyingKey] | undefined {
    const now = Date.now();
    let best: [string, VerifyingKey] | undefined;
    for (const entry of this.keys) {
      if (entry[1].signsFrom.getTime() <= now && (!best || entry[1].signsFrom > best[1].signsFrom)) best = entry;
    }
    return best;
  }

  private async verifyingKey(kid: string): Promise<VerifyingKey | undefined> {
    await this.load(false);
    let entry = this.keys.get(kid);
    if (!entry && Date.now() - this.loadedAt > unknownKidRefreshMs) {
      await this.load(true);
      entry = this.keys.get(kid);
    }
    return entry && stillVerifies(entry) ? entry : undefined;
  }

  private async load(force: boolean): Promise<void> {
    if (!force && Date.now() - this.loadedAt < keyCacheSeconds * 1000) return;
    this.loading ??= this.read().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async read(): Promise<void> {
    const rows = await verifyingKeys(this.deps.db);
    const keys = new Map<string, VerifyingKey>();
    for (const row of rows) {
      const jwk = row.publicJwk as JWK;
      keys.set(row.kid, {
        key: (await importJWK(jwk, signingAlgorithm)) as CryptoKey,
        jwk,
        signsFrom: row.signsFrom,
        verifyUntil: row.verifyUntil,
        privateJwkEnc: row.privateJwkEnc,
      });
    }
    this.keys = keys;
    this.loadedAt = Date.now();
  }
}

function stillVerifies(entry: VerifyingKey): boolean {
  return entry.verifyUntil === null || entry.verifyUntil.getTime() > Date.now();
}

function principalFromClaims(payload: JWTPayload): Principal {
  const subject = payload.sub!;
  if (subject.startsWith(partnerSubjectPrefix)) {
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (!scopes.every((scope): scope is PartnerScope => (partnerScopes as readonly string[]).includes(scope))) {
      throw new InvalidToken('the token carries an unknown scope');
    }
    return { kind: 'partner', clientId: subject.slice(partnerSubjectPrefix.length), scopes: scopes as PartnerScope[] };
  }
  const { sid, role, amr } = payload as { sid?: unknown; role?: unknown; amr?: unknown };
  if (typeof sid !== 'string' || typeof role !== 'string' || !(roles as readonly string[]).includes(role) || !Array.isArray(amr)) {
    throw new InvalidToken('the token lacks its session claims');
  }
  return { kind: 'account', accountId: subject, role: role as Role, sessionId: sid, authMethods: amr.map(String) };
}

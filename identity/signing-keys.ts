import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { appendSigningKey, lockSigningKeys, newestSigningKey, pruneSigningKeys } from '../db/identity/signing-keys';
import type { Config } from '../platform/config';
import { encryptPii } from '../platform/pii';
import type { Database } from '../platform/postgres';
import { piiFields } from './pii-fields';

export const signingAlgorithm = 'ES256';

/**
 * How long a replaced key keeps verifying: the access-token lifetime, plus the time other processes may
 * keep signing with their cached copy of it, plus clock skew.
 */
export function retiredKeyVerifySeconds(config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>): number {
  return config.ACCESS_TOKEN_TTL_SECONDS + keyCacheSeconds + clockSkewSeconds;
}
export const keyCacheSeconds = 30;
export const clockSkewSeconds = 30;
/** A new key is published this long before it signs: longer than any process caches the key list. */
export const prePublishSeconds = 2 * keyCacheSeconds;

async function newKey(config: Pick<Config, 'pii'>) {
  const { publicKey, privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  // Dated so an operator reading a token header or the JWKS sees at a glance how old a key is.
  const kid = `${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(6).toString('base64url')}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: signingAlgorithm, use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg: signingAlgorithm,
    publicJwk: publicJwk as Record<string, unknown>,
    privateJwkEnc: encryptPii(config.pii.keyring, JSON.stringify(privateJwk), piiFields.signingKeyPrivate.context(kid)),
  };
}

export interface RotationResult {
  kid: string;
  rotated: boolean;
  pruned: number;
}

/**
 * Adds the next key: published at once, signing `prePublishSeconds` later, when every process has it
 * cached; the key it replaces verifies until its last token has expired. Idempotent for one rotation
 * request: when the newest key was made at or after `requestedAt`, this rotation already happened (a
 * retried activity, a second command) and nothing changes.
 */
export async function rotateSigningKey(db: Database, config: Pick<Config, 'pii' | 'ACCESS_TOKEN_TTL_SECONDS'>, requestedAt: Date): Promise<RotationResult> {
  return db.transaction(async (tx) => {
    await lockSigningKeys(tx);
    const newest = await newestSigningKey(tx);
    if (newest && newest.createdAt.getTime() >= requestedAt.getTime()) {
      return { kid: newest.kid, rotated: false, pruned: 0 };
    }
    const next = await newKey(config);
    await appendSigningKey(tx, next, { publishSeconds: newest ? prePublishSeconds : 0, verifySeconds: retiredKeyVerifySeconds(config) });
    const pruned = await pruneSigningKeys(tx);
    return { kid: next.kid, rotated: true, pruned };
  });
}

/** A fresh installation has no key yet: the first process to need one makes it. */
export async function ensureSigningKey(db: Database, config: Pick<Config, 'pii' | 'ACCESS_TOKEN_TTL_SECONDS'>): Promise<string> {
  const existing = await newestSigningKey(db);
  if (existing) return existing.kid;
  return db.transaction(async (tx) => {
    await lockSigningKeys(tx);
    const newest = await newestSigningKey(tx);
    if (newest) return newest.kid;
    // Nobody holds a token yet, so the very first key may sign at once.
    const next = await newKey(config);
    await appendSigningKey(tx, next, { publishSeconds: 0, verifySeconds: retiredKeyVerifySeconds(config) });
    return next.kid;
  });
}

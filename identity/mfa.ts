/**
 * The second factor: TOTP (RFC 6238, 30 s steps, 6 digits, as every authenticator app does it) with
 * ten one-time recovery codes for a lost phone. Login is two steps: the password opens a short-lived
 * challenge (an opaque token, kept in Redis under its hash), and the code closes it.
 *
 * Secrets and codes never reach a log: the TOTP secret is encrypted at rest (`piiFields.totpSecret`),
 * recovery codes and challenge tokens are stored only as SHA-256.
 */
import { eq } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { generateSecret, generateURI, verify as verifyOtp } from 'otplib';
import { claimTotpStep, totpFactorOf, upsertPendingTotp, useRecoveryCode } from '../db/identity/mfa';
import { accounts } from '../db/schema/identity';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import { decryptEmail } from './accounts';
import { piiFields } from './pii-fields';

export const totpIssuer = 'Comptoir';
/** ±1 step: a phone whose clock is up to 30 s off, or a code typed just as it changed, still works. */
const driftSeconds = 30;
export const mfaChallengeTtlSeconds = 300;
/** Codes tried against one challenge before it is thrown away and the password is needed again. */
export const mfaChallengeAttempts = 5;
export const recoveryCodeCount = 10;

const challengePrefix = 'mfa_';
const totpCodePattern = /^\d{6}$/;
// Crockford's base32 without I, L, O, U: nothing to misread when copying a code from paper.
const recoveryAlphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const recoveryCodeLength = 12;
const recoveryCodePattern = new RegExp(`^[${recoveryAlphabet}]{${recoveryCodeLength}}$`);

/** How a second factor was proved, and the RFC 8176 methods the session then carries (`otp` and `mfa` both count, `identity/permissions.ts`). */
export type SecondFactor = 'otp' | 'recovery_code';
export const authMethodsAfter = (factor: SecondFactor): string[] => (factor === 'otp' ? ['pwd', 'otp'] : ['pwd', 'mfa']);

type MfaDeps = { db: Executor; config: Pick<Config, 'pii'> };

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

export async function hasConfirmedTotp(db: Executor, accountId: string): Promise<boolean> {
  const factor = await totpFactorOf(db, accountId);
  return factor?.confirmedAt != null;
}

/** Where the account's TOTP enrolment stands. */
export async function totpStatus(db: Executor, accountId: string): Promise<'none' | 'pending' | 'confirmed'> {
  const factor = await totpFactorOf(db, accountId);
  if (!factor) return 'none';
  return factor.confirmedAt ? 'confirmed' : 'pending';
}

// ---------------------------------------------------------------------------------------------
// Enrolment

export interface TotpEnrolment {
  /** Base32, for typing into an authenticator by hand. */
  secret: string;
  /** `otpauth://totp/…`, for a QR code. */
  otpauthUri: string;
}

/**
 * Begins enrolment with a fresh secret, not active until confirmed by a first code. Starting again
 * replaces a pending secret; undefined when a confirmed factor exists (it must be disabled first).
 */
export async function startTotpEnrolment(deps: MfaDeps, accountId: string): Promise<TotpEnrolment | undefined> {
  const secret = generateSecret();
  const secretEnc = encryptPii(deps.config.pii.keyring, secret, piiFields.totpSecret.context(accountId));
  if (!(await upsertPendingTotp(deps.db, accountId, secretEnc))) return undefined;
  const [account] = await deps.db.select({ id: accounts.id, emailEnc: accounts.emailEnc }).from(accounts).where(eq(accounts.id, accountId));
  const label = (account && decryptEmail(deps.config, account)) ?? accountId;
  return { secret, otpauthUri: generateURI({ issuer: totpIssuer, label, secret }) };
}

/**
 * Checks a TOTP code and spends its time step, atomically: a code (or any code of an earlier step)
 * presented again is refused even by two requests racing. `confirming` checks against a pending
 * enrolment and activates it; otherwise only a confirmed factor counts.
 */
export async function verifyTotp(deps: MfaDeps, accountId: string, code: string, options: { confirming?: boolean } = {}): Promise<boolean> {
  if (!totpCodePattern.test(code)) return false;
  const factor = await totpFactorOf(deps.db, accountId);
  if (!factor || (factor.confirmedAt !== null) === (options.confirming ?? false)) return false;
  const secret = decryptPii(deps.config.pii.keyring, factor.secretEnc, piiFields.totpSecret.context(accountId));
  const result = await verifyOtp({
    secret,
    token: code,
    epochTolerance: driftSeconds,
    ...(factor.lastStep !== null ? { afterTimeStep: factor.lastStep } : {}),
  });
  if (!result.valid || !('timeStep' in result)) return false;
  return claimTotpStep(deps.db, accountId, result.timeStep, options.confirming ?? false);
}

// ---------------------------------------------------------------------------------------------
// Recovery codes

/** Ten fresh codes, `xxxx-xxxx-xxxx`, to show once; only their hashes are kept. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: recoveryCodeCount }, () => {
    // 256 is a multiple of 32: taking each byte modulo 32 keeps every character equally likely.
    const chars = [...randomBytes(recoveryCodeLength)].map((byte) => recoveryAlphabet[byte % 32]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  });
  return { codes, hashes: codes.map((code) => sha256(normaliseRecoveryCode(code)!)) };
}

/** Case, spaces and hyphens are how people copy codes, not part of them. Undefined when it cannot be a recovery code. */
export function normaliseRecoveryCode(input: string): string | undefined {
  const plain = input.toLowerCase().replace(/[\s-]/g, '');
  return recoveryCodePattern.test(plain) ? plain : undefined;
}

/** Spends a recovery code; true for exactly one of any number of concurrent attempts. */
export async function useRecovery(db: Executor, accountId: string, code: string): Promise<boolean> {
  const normalised = normaliseRecoveryCode(code);
  if (!normalised) return false;
  return useRecoveryCode(db, accountId, sha256(normalised));
}

/**
 * A second factor for a confirmed enrolment: six digits are a TOTP code, anything else is tried as a
 * recovery code. Undefined when it is neither (wrong, replayed, already used).
 */
export async function verifySecondFactor(deps: MfaDeps, accountId: string, code: string): Promise<SecondFactor | undefined> {
  const compact = code.replace(/\s/g, '');
  if (totpCodePattern.test(compact)) return (await verifyTotp(deps, accountId, compact)) ? 'otp' : undefined;
  // Recovery codes only exist while a factor is confirmed (they are deleted with it), so no check here.
  return (await useRecovery(deps.db, accountId, compact)) ? 'recovery_code' : undefined;
}

// ---------------------------------------------------------------------------------------------
// Login challenge

const challengeKey = (token: string) => `mfa:challenge:${sha256(token)}`;

/**
 * KEYS[1] the challenge; ARGV[1] the attempt budget. Counts one attempt and returns {account, attempts},
 * or nil when the challenge is unknown or expired; past the budget the challenge is deleted.
 */
const attemptScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local account = redis.call('HGET', KEYS[1], 'account')
if attempts > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return nil
end
return {account, attempts}
`;

/** After a correct password for an account with MFA: the token the client sends back with the code. */
export async function createMfaChallenge(deps: { redis: Redis; config: Config }, accountId: string): Promise<string> {
  const token = `${challengePrefix}${randomBytes(32).toString('base64url')}`;
  const key = challengeKey(token);
  const replies = await deps.redis.multi().hset(key, { account: accountId, attempts: 0 }).expire(key, mfaChallengeTtlSeconds).exec();
  const failed = replies?.find(([error]) => error);
  if (!replies || failed) throw failed?.[0] ?? new Error('could not store the MFA challenge');
  return token;
}

export interface ChallengeAttempt {
  accountId: string;
  /** This attempt is the last the challenge allows. */
  last: boolean;
}

/** Counts one attempt against a challenge; undefined when it is unknown, expired, spent or out of attempts. */
export async function attemptMfaChallenge(deps: { redis: Redis }, token: string): Promise<ChallengeAttempt | undefined> {
  if (!token.startsWith(challengePrefix)) return undefined;
  const reply = (await deps.redis.eval(attemptScript, 1, challengeKey(token), mfaChallengeAttempts)) as [string, number] | null;
  if (!reply) return undefined;
  return { accountId: reply[0], last: reply[1] >= mfaChallengeAttempts };
}

/**
 * Closes a challenge: true only for the caller that actually removed it, so one challenge yields at
 * most one session even if two correct codes arrive at once. Also used to throw away an exhausted one.
 */
export async function endMfaChallenge(deps: { redis: Redis }, token: string): Promise<boolean> {
  return (await deps.redis.del(challengeKey(token))) === 1;
}

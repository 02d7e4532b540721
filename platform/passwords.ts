/**
 * Password hashing with scrypt. The encoded form carries its own parameters
 * (`scrypt$N$r$p$<salt b64>$<hash b64>`), so they can be raised later: old hashes keep verifying and
 * `needsRehash` says when to re-hash at the next successful login.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface EncodedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const current: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const saltLength = 16;
const hashLength = 64;

// Hashes come from the database: bound what a (corrupted or planted) row can make us compute.
const limits = { maxN: 2 ** 20, maxR: 32, maxP: 16, maxMemory: 256 * 1024 * 1024, minSalt: 8, maxSalt: 64, minHash: 16, maxHash: 128 };

/** Hashes a password with a fresh random salt under the current parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltLength);
  const hash = await derive(password, salt, current, hashLength);
  return encode({ ...current, salt, hash });
}

/** True when `password` matches `encoded`. A malformed or unsupported encoding is a non-match, never an exception. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = typeof password === 'string' ? decode(encoded) : undefined;
  if (!parsed) return false;
  try {
    const candidate = await derive(password, parsed.salt, parsed, parsed.hash.length);
    return timingSafeEqual(candidate, parsed.hash);
  } catch {
    return false;
  }
}

/** True when `encoded` was made with other parameters than today's (or is unreadable): re-hash it after the next successful login. */
export function needsRehash(encoded: string): boolean {
  const parsed = decode(encoded);
  if (!parsed) return true;
  return parsed.N !== current.N || parsed.r !== current.r || parsed.p !== current.p || parsed.salt.length !== saltLength || parsed.hash.length !== hashLength;
}

// Current parameters, a fixed salt and a hash no password produces (the odds are 2^-512): verifying
// against it costs exactly what a real verification costs, and always fails.
export const dummyPasswordHash = encode({ ...current, salt: Buffer.alloc(saltLength, 0x5a), hash: Buffer.alloc(hashLength, 0xa5) });

/**
 * Call when the login names no known account. It takes as long as a real verification, so response
 * times do not reveal which emails have accounts. Always resolves to false.
 */
export async function dummyVerify(): Promise<false> {
  await verifyPassword('dummy password', dummyPasswordHash);
  return false;
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  // NFC: the same accented password typed on two devices may arrive composed or decomposed.
  const secret = Buffer.from(password.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { ...params, maxmem: memoryFor(params) }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

// What OpenSSL checks against maxmem: the V array, 128·r·(N+2) bytes, plus the B array, 128·r·p.
function memoryFor({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function encode({ N, r, p, salt, hash }: EncodedHash): string {
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

function decode(encoded: unknown): EncodedHash | undefined {
  if (typeof encoded !== 'string') return undefined;
  const fields = encoded.split('$');
  if (fields.length !== 6 || fields[0] !== 'scrypt') return undefined;
  const [N, r, p] = fields.slice(1, 4).map(parsePositiveInteger);
  const salt = decodeBase64(fields[4]);
  const hash = decodeBase64(fields[5]);
  if (N === undefined || r === undefined || p === undefined || !salt || !hash) return undefined;
  const parsed = { N, r, p, salt, hash };
  return withinLimits(parsed) ? parsed : undefined;
}

function withinLimits({ N, r, p, salt, hash }: EncodedHash): boolean {
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  return (
    powerOfTwo &&
    N <= limits.maxN &&
    r <= limits.maxR &&
    p <= limits.maxP &&
    memoryFor({ N, r, p }) <= limits.maxMemory &&
    salt.length >= limits.minSalt &&
    salt.length <= limits.maxSalt &&
    hash.length >= limits.minHash &&
    hash.length <= limits.maxHash
  );
}

function parsePositiveInteger(text: string | undefined): number | undefined {
  return text !== undefined && /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : undefined;
}

// Only the canonical form: Buffer.from(…, 'base64') would otherwise accept junk and truncations.
function decodeBase64(text: string | undefined): Buffer | undefined {
  if (text === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const minLength = 12;
const maxLength = 256;
// Shorter local parts ("jo", "a") would flag half of all passwords without making any of them weaker.
const minLocalPartToCheck = 3;

/**
 * The passwords attackers try first. Lower-case; compared case-insensitively. Entries shorter than 12
 * characters are already refused by length but kept, so the list stays right if the minimum changes.
 */
const commonPasswords = new Set([
  'password123',
  'password1234',
  'password123!',
  'passwordpassword',
  '123456789012',
  '1234567890ab',
  '123456123456',
  '111111111111',
  '000000000000',
  'aaaaaaaaaaaa',
  'abcdefghijkl',
  'abcd12345678',
  'qwertyuiop12',
  'qwertyuiop123',
  'qwerty123456',
  'azertyuiop12',
  'azertyuiop123',
  'azerty123456',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'motdepasse123',
  'motdepasse1234',
  'iloveyou1234',
  'welcome12345',
  'letmein12345',
  'changeme1234',
  'administrator',
  'football1234',
  'soleil123456',
  'bonjour12345',
  'trustno1trustno1',
]);

/** Reasons `password` is too weak, in words a user can act on; empty when it is acceptable. */
export function passwordProblems(password: string, context: { email?: string }): string[] {
  // Counted in characters as the user sees them, not UTF-16 units or bytes.
  const normalised = password.normalize('NFC');
  const length = [...normalised].length;
  const lowered = normalised.toLowerCase();
  const problems: string[] = [];
  if (length < minLength) problems.push(`Use at least ${minLength} characters.`);
  if (length > maxLength) problems.push(`Use at most ${maxLength} characters.`);
  if (containsEmailLocalPart(lowered, context.email)) problems.push('Do not use your email address in your password.');
  if (commonPasswords.has(lowered)) problems.push('This password is too common.');
  return problems;
}

function containsEmailLocalPart(loweredPassword: string, email: string | undefined): boolean {
  if (!email) return false;
  const at = email.lastIndexOf('@');
  const localPart = (at < 0 ? email : email.slice(0, at)).trim().toLowerCase().normalize('NFC');
  return [...localPart].length >= minLocalPartToCheck && loweredPassword.includes(localPart);
}

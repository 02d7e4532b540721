/**
 * Personal data at rest (email, phone, names, addresses): AES-256-GCM under versioned keys, with the
 * key id stored in each value so keys can be rotated without a flag day, and a keyed hash so accounts
 * can be found by email without the email being stored in clear.
 *
 * Error messages name the problem and, at most, a key id: never plaintext, ciphertext or key material,
 * because errors end up in logs and traces.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Encryption keys by id; `current` encrypts, every key in `keys` still decrypts (old values stay readable after a rotation). */
export interface PiiKeyring {
  current: string;
  keys: Map<string, Buffer>;
}

/** A value could not be encrypted, parsed or decrypted. The message is safe to log. */
export class PiiError extends Error {
  override name = 'PiiError';
}

const keyIdPattern = /^[a-z0-9]{1,16}$/;
const canonicalBase64 = /^[A-Za-z0-9+/]*={0,2}$/;
const base64url = /^[A-Za-z0-9_-]*$/;
const keyLength = 32;
// 96-bit IVs are the size GCM is specified for; anything else is hashed into one and weakens the bounds.
const ivLength = 12;
const tagLength = 16;
const minLookupKeyLength = 32;

/**
 * Parses `v1:<base64 32 bytes>,v2:<base64 32 bytes>`. The last entry is the current key, so a rotation
 * is "append a key and redeploy", and the older keys keep decrypting until the re-encryption is done.
 */
export function parsePiiKeyring(spec: string): PiiKeyring {
  if (spec.trim() === '') throw new PiiError('PII keyring is empty');
  const keys = new Map<string, Buffer>();
  let current = '';
  spec.split(',').forEach((entry, index) => {
    const [id, key] = parseKeyringEntry(entry.trim(), index + 1);
    if (keys.has(id)) throw new PiiError(`PII keyring has a duplicate key id "${id}"`);
    keys.set(id, key);
    current = id;
  });
  return { current, keys };
}

// Entries are named by position, not by content: a malformed entry may be a bare key.
function parseKeyringEntry(entry: string, position: number): [string, Buffer] {
  if (entry === '') throw new PiiError(`PII keyring entry ${position} is empty`);
  const colon = entry.indexOf(':');
  if (colon < 0) throw new PiiError(`PII keyring entry ${position} is not of the form <id>:<base64 key>`);
  const id = entry.slice(0, colon);
  const encoded = entry.slice(colon + 1).trim();
  if (!keyIdPattern.test(id)) throw new PiiError(`PII keyring entry ${position}: the key id must match [a-z0-9]{1,16}`);
  const key = decodeCanonicalBase64(encoded);
  if (key?.length !== keyLength) throw new PiiError(`PII key "${id}" must be exactly ${keyLength} bytes, base64-encoded`);
  return [id, key];
}

// Buffer.from(…, 'base64') silently skips junk; insisting on the canonical form catches truncated or mangled keys.
function decodeCanonicalBase64(text: string): Buffer | undefined {
  if (!canonicalBase64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * Encrypts under the current key. `context` (e.g. `identity.accounts.email:<accountId>`) is bound as
 * additional authenticated data: the value only decrypts with the same context, so a ciphertext copied
 * into another row or column is rejected instead of silently showing someone else's data.
 */
export function encryptPii(keyring: PiiKeyring, plaintext: string, context: string): string {
  requireContext(context);
  const key = keyFor(keyring, keyring.current);
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagLength });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [keyring.current, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Decrypts a value from `encryptPii`, whichever key of the keyring it was made with. Throws `PiiError` when it cannot be trusted. */
export function decryptPii(keyring: PiiKeyring, value: string, context: string): string {
  requireContext(context);
  const parts = parseValue(value);
  const decipher = createDecipheriv('aes-256-gcm', keyFor(keyring, parts.keyId), parts.iv, { authTagLength: tagLength });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(parts.tag);
  try {
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot tell a flipped bit from a wrong context: both are an authentication failure.
    throw new PiiError('PII value failed authentication: it was tampered with, or belongs to another context');
  }
}

/** The id of the key a value was encrypted with. */
export function keyIdOf(value: string): string {
  return parseValue(value).keyId;
}

/** True when the value was encrypted under an older key, so the rotation workflow should rewrite it. */
export function needsReencryption(keyring: PiiKeyring, value: string): boolean {
  return keyIdOf(value) !== keyring.current;
}

interface ValueParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseValue(value: string): ValueParts {
  const segments = value.split('.');
  if (segments.length !== 4) throw new PiiError('PII value is malformed: expected <keyId>.<iv>.<ciphertext>.<tag>');
  const [keyId, iv, ciphertext, tag] = segments as [string, string, string, string];
  if (!keyIdPattern.test(keyId)) throw new PiiError('PII value is malformed: invalid key id');
  if (![iv, ciphertext, tag].every((segment) => base64url.test(segment))) throw new PiiError('PII value is malformed: not base64url');
  const parts = { keyId, iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url'), tag: Buffer.from(tag, 'base64url') };
  if (parts.iv.length !== ivLength) throw new PiiError('PII value is malformed: wrong IV length');
  // A short tag would make forgeries cheaper; only full 16-byte tags are accepted.
  if (parts.tag.length !== tagLength) throw new PiiError('PII value is malformed: wrong tag length');
  return parts;
}

function keyFor(keyring: PiiKeyring, keyId: string): Buffer {
  const key = keyring.keys.get(keyId);
  if (!key) throw new PiiError(`PII value is under unknown key id "${keyId}"`);
  if (key.length !== keyLength) throw new PiiError(`PII key "${keyId}" is not ${keyLength} bytes`);
  return key;
}

// An empty context would bind nothing, defeating the protection against moved ciphertexts.
function requireContext(context: string): void {
  if (context === '') throw new PiiError('PII context must not be empty');
}

/**
 * The form an email is compared in: surrounding spaces and case are typing accidents, and NFC makes an
 * accented letter typed on one device equal to the same letter typed on another.
 */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase().normalize('NFC');
}

/**
 * HMAC-SHA256 (base64url) of the normalised email: an index column that finds an account by email
 * without storing the email in clear. Keyed, so a leaked table cannot be reversed with a dictionary of
 * known emails. This key cannot be rotated like the encryption keys: every stored hash depends on it.
 */
export function lookupHash(hmacKey: Buffer, value: string): string {
  if (hmacKey.length < minLookupKeyLength) throw new PiiError(`PII lookup key must be at least ${minLookupKeyLength} bytes`);
  return createHmac('sha256', hmacKey).update(normaliseEmail(value), 'utf8').digest('base64url');
}

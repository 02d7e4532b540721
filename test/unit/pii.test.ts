import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PiiError, decryptPii, encryptPii, keyIdOf, lookupHash, needsReencryption, normaliseEmail, parsePiiKeyring, type PiiKeyring } from '../../platform/pii';

const key1 = Buffer.alloc(32, 1).toString('base64');
const key2 = Buffer.alloc(32, 2).toString('base64');
const context = 'identity.accounts.email:acc_123';

const isPiiError = (pattern: RegExp) => (error: unknown) => error instanceof PiiError && pattern.test(error.message);

/** Replaces one segment of `<keyId>.<iv>.<ciphertext>.<tag>` with the result of `change`. */
function withSegment(value: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const segments = value.split('.');
  segments[index] = change(Buffer.from(segments[index]!, 'base64url')).toString('base64url');
  return segments.join('.');
}

const flipFirstBit = (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy[0] = copy[0]! ^ 1;
  return copy;
};

test('the keyring spec lists keys by id, the last one being current', () => {
  const keyring = parsePiiKeyring(`v1:${key1}, v2:${key2}`);
  assert.equal(keyring.current, 'v2');
  assert.deepEqual([...keyring.keys.keys()], ['v1', 'v2']);
  assert.deepEqual(keyring.keys.get('v1'), Buffer.alloc(32, 1));
  assert.deepEqual(keyring.keys.get('v2'), Buffer.alloc(32, 2));
  assert.equal(parsePiiKeyring(`k2024:${key1}`).current, 'k2024');
});

test('a bad keyring spec is refused, naming the problem but never the key material', () => {
  const refusals: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    [`v1:${key1},`, /entry 2 is empty/],
    [key1, /entry 1 is not of the form/],
    [`v1:${Buffer.alloc(16, 1).toString('base64')}`, /"v1" must be exactly 32 bytes/],
    [`v1:${Buffer.alloc(33, 1).toString('base64')}`, /"v1" must be exactly 32 bytes/],
    [`v1:${key1.slice(0, -4)}`, /"v1" must be exactly 32 bytes/],
    [`v1:${key1}!`, /"v1" must be exactly 32 bytes/],
    [`v1:${key1},v1:${key2}`, /duplicate key id "v1"/],
    [`V1:${key1}`, /entry 1: the key id must match/],
    [`v-1:${key1}`, /entry 1: the key id must match/],
    [`:${key1}`, /entry 1: the key id must match/],
    [`${'a'.repeat(17)}:${key1}`, /entry 1: the key id must match/],
  ];
  for (const [spec, pattern] of refusals) {
    assert.throws(
      () => parsePiiKeyring(spec),
      (error: Error) => isPiiError(pattern)(error) && !error.message.includes(key1.slice(0, 8)),
      `spec ${JSON.stringify(spec)}`,
    );
  }
  assert.equal(parsePiiKeyring(`${'a'.repeat(16)}:${key1}`).current, 'a'.repeat(16), '16 characters is still a valid id');
});

test('values round-trip, carry their key id and never encrypt the same way twice', () => {
  const keyring = parsePiiKeyring(`v1:${key1}`);
  for (const plaintext of ['alice@example.com', '+33 6 12 34 56 78', 'Zoë Ærøskøbing 東京', '']) {
    const value = encryptPii(keyring, plaintext, context);
    assert.match(value, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/);
    assert.ok(!value.includes(plaintext) || plaintext === '', 'no plaintext in the value');
    assert.equal(decryptPii(keyring, value, context), plaintext);
  }
  const first = encryptPii(keyring, 'alice@example.com', context);
  const second = encryptPii(keyring, 'alice@example.com', context);
  assert.notEqual(first, second, 'a fresh IV each time');
  assert.notEqual(first.split('.')[1], second.split('.')[1]);
  assert.equal(keyIdOf(first), 'v1');
});

test('the format is plain AES-256-GCM with the context as AAD, readable by any other implementation', () => {
  const keyring = parsePiiKeyring(`v1:${key1}`);
  // Made without the module, so the test pins the stored format rather than the module's own round trip.
  const iv = Buffer.alloc(12, 9);
  const cipher = createCipheriv('aes-256-gcm', Buffer.alloc(32, 1), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update('alice@example.com', 'utf8'), cipher.final()]);
  const external = ['v1', iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  assert.equal(decryptPii(keyring, external, context), 'alice@example.com');

  const [, ivPart, ciphertextPart, tagPart] = encryptPii(keyring, 'bob@example.com', context).split('.') as [string, string, string, string];
  const decipher = createDecipheriv('aes-256-gcm', Buffer.alloc(32, 1), Buffer.from(ivPart, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tagPart, 'base64url'));
  assert.equal(Buffer.concat([decipher.update(Buffer.from(ciphertextPart, 'base64url')), decipher.final()]).toString('utf8'), 'bob@example.com');
});

test('a tampered IV, ciphertext or tag fails authentication', () => {
  const keyring = parsePiiKeyring(`v1:${key1}`);
  const value = encryptPii(keyring, 'alice@example.com', context);
  for (const index of [1, 2, 3]) {
    assert.throws(() => decryptPii(keyring, withSegment(value, index, flipFirstBit), context), isPiiError(/failed authentication/), `segment ${index}`);
  }
  assert.throws(() => decryptPii(keyring, withSegment(value, 3, (tag) => tag.subarray(0, 12)), context), isPiiError(/wrong tag length/));
  assert.throws(() => decryptPii(keyring, withSegment(value, 1, (iv) => Buffer.concat([iv, iv])), context), isPiiError(/wrong IV length/));
  assert.throws(() => decryptPii(keyring, withSegment(value, 2, (ciphertext) => ciphertext.subarray(1)), context), isPiiError(/failed authentication/));
});

test('a value moved to another row or column does not decrypt', () => {
  const keyring = parsePiiKeyring(`v1:${key1}`);
  const value = encryptPii(keyring, 'alice@example.com', context);
  assert.throws(() => decryptPii(keyring, value, 'identity.accounts.email:acc_124'), isPiiError(/failed authentication/));
  assert.throws(() => decryptPii(keyring, value, 'identity.accounts.phone:acc_123'), isPiiError(/failed authentication/));
  assert.throws(() => decryptPii(keyring, value, ''), isPiiError(/context must not be empty/));
  assert.throws(() => encryptPii(keyring, 'alice@example.com', ''), isPiiError(/context must not be empty/));
});

test('unknown key ids and malformed values are refused without echoing the value', () => {
  const keyring = parsePiiKeyring(`v1:${key1}`);
  const underV2 = encryptPii(parsePiiKeyring(`v2:${key2}`), 'alice@example.com', context);
  assert.throws(() => decryptPii(keyring, underV2, context), isPiiError(/unknown key id "v2"/));
  const malformed: [string, RegExp][] = [
    ['alice@example.com', /malformed/],
    ['v1.a.b', /malformed/],
    [`${underV2}.extra`, /malformed/],
    [underV2.replace(/^v2/, 'V2'), /invalid key id/],
    [underV2.replace(/\.(.)/, '.+'), /not base64url/],
  ];
  for (const [value, pattern] of malformed) {
    assert.throws(() => decryptPii(keyring, value, context), (error: Error) => isPiiError(pattern)(error) && !error.message.includes(value), value);
  }
  assert.throws(() => keyIdOf('no dots here'), isPiiError(/malformed/));
});

test('after a rotation old values still decrypt and are flagged for re-encryption; new ones use the new key', () => {
  const before: PiiKeyring = parsePiiKeyring(`v1:${key1}`);
  const old = encryptPii(before, 'alice@example.com', context);
  assert.equal(needsReencryption(before, old), false);

  const after = parsePiiKeyring(`v1:${key1},v2:${key2}`);
  assert.equal(decryptPii(after, old, context), 'alice@example.com');
  assert.equal(needsReencryption(after, old), true);
  const rewritten = encryptPii(after, decryptPii(after, old, context), context);
  assert.equal(keyIdOf(rewritten), 'v2');
  assert.equal(needsReencryption(after, rewritten), false);
  assert.equal(decryptPii(after, rewritten, context), 'alice@example.com');

  const retired = parsePiiKeyring(`v2:${key2}`);
  assert.throws(() => decryptPii(retired, old, context), isPiiError(/unknown key id "v1"/), 'once v1 is dropped, v1 values are unreadable');
});

test('a key id that claims another key of the same keyring does not decrypt', () => {
  const keyring = parsePiiKeyring(`v1:${key1},v2:${key2}`);
  const value = encryptPii(keyring, 'alice@example.com', context);
  assert.throws(() => decryptPii(keyring, value.replace(/^v2\./, 'v1.'), context), isPiiError(/failed authentication/));
});

test('emails are normalised before hashing: case, surrounding spaces and Unicode composition do not matter', () => {
  assert.equal(normaliseEmail('  Alice.Martin@Example.COM \n'), 'alice.martin@example.com');
  assert.equal(normaliseEmail('E\u0301lise@example.fr'), '\u00e9lise@example.fr', 'decomposed É becomes composed é');

  const hmacKey = Buffer.alloc(32, 7);
  const hash = lookupHash(hmacKey, 'alice.martin@example.com');
  assert.match(hash, /^[A-Za-z0-9_-]{43}$/, 'SHA-256 in base64url');
  assert.equal(hash, 'qxljGObtS2JpT0a-R_M9JR799lUiDYAThMm1lhNOAs8', 'pinned: every stored hash depends on this exact computation');
  assert.equal(lookupHash(hmacKey, '  Alice.Martin@EXAMPLE.com '), hash);
  assert.equal(lookupHash(hmacKey, '\u00c9lise@example.fr'), lookupHash(hmacKey, 'e\u0301lise@example.fr'));
  assert.notEqual(lookupHash(hmacKey, 'alice.martin@example.org'), hash);
  assert.notEqual(lookupHash(Buffer.alloc(32, 8), 'alice.martin@example.com'), hash, 'a different key gives a different hash');
  assert.throws(() => lookupHash(randomBytes(16), 'alice@example.com'), isPiiError(/at least 32 bytes/));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dummyPasswordHash, dummyVerify, hashPassword, needsRehash, passwordProblems, verifyPassword } from '../../platform/passwords';

const encodedPattern = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

// RFC 7914 §12 test vector: pins the encoding to standard scrypt, not just to our own round trip.
const rfc7914 = 'scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofLVQylVYT8Pz2LUlwUkKpr55h6F3A1lHkDfzwF7RVdYhw==';

test('a hash verifies its password and no other, and records its parameters', async () => {
  const encoded = await hashPassword('correct horse battery staple');
  const [, salt, hash] = encodedPattern.exec(encoded) ?? assert.fail(`unexpected encoding ${encoded}`);
  assert.equal(Buffer.from(salt!, 'base64').length, 16);
  assert.equal(Buffer.from(hash!, 'base64').length, 64);
  assert.ok(!encoded.includes('correct horse'));
  assert.equal(await verifyPassword('correct horse battery staple', encoded), true);
  assert.equal(await verifyPassword('correct horse battery stapl', encoded), false);
  assert.equal(await verifyPassword('Correct horse battery staple', encoded), false);
  assert.equal(await verifyPassword('', encoded), false);
});

test('the same password hashes differently each time (per-user salt), and both verify', async () => {
  const [first, second] = await Promise.all([hashPassword('same password twice'), hashPassword('same password twice')]);
  assert.notEqual(first, second);
  assert.notEqual(first.split('$')[4], second.split('$')[4], 'different salts');
  assert.equal(await verifyPassword('same password twice', first), true);
  assert.equal(await verifyPassword('same password twice', second), true);
});

test('hashes are standard scrypt: the RFC 7914 vector verifies', async () => {
  assert.equal(await verifyPassword('pleaseletmein', rfc7914), true);
  assert.equal(await verifyPassword('pleaseletmeiN', rfc7914), false);
});

test('composed and decomposed accents are the same password', async () => {
  const encoded = await hashPassword('caf\u00e9 cr\u00e8me br\u00fbl\u00e9e');
  assert.equal(await verifyPassword('cafe\u0301 cre\u0300me bru\u0302le\u0301e', encoded), true);
});

test('malformed or out-of-bounds encodings are a non-match, never an exception', async () => {
  const good = await hashPassword('a perfectly fine password');
  const [, N, r, p, salt, hash] = good.split('$') as [string, string, string, string, string, string];
  const bad = [
    '',
    'not a hash',
    '$2b$12$abcdefghijklmnopqrstuuq0DDJWNZbBNCBNSOWSBfgYfhBAHhO1W', // bcrypt: not ours
    good.replace(/^scrypt/, 'argon2id'),
    `${good}$extra`,
    ['scrypt', N, r, p, salt].join('$'),
    ['scrypt', '0', r, p, salt, hash].join('$'),
    ['scrypt', '32767', r, p, salt, hash].join('$'), // N must be a power of two
    ['scrypt', '-32768', r, p, salt, hash].join('$'),
    ['scrypt', '032768', r, p, salt, hash].join('$'),
    ['scrypt', String(2 ** 21), r, p, salt, hash].join('$'), // would cost gigabytes: refused before computing
    ['scrypt', N, '64', p, salt, hash].join('$'),
    ['scrypt', N, r, '0', salt, hash].join('$'),
    ['scrypt', N, r, 'x', salt, hash].join('$'),
    ['scrypt', N, r, p, '', hash].join('$'),
    ['scrypt', N, r, p, 'c2FsdA==', hash].join('$'), // 4-byte salt
    ['scrypt', N, r, p, `${salt}!`, hash].join('$'),
    ['scrypt', N, r, p, salt, hash.slice(0, -1)].join('$'), // not canonical base64
    ['scrypt', N, r, p, salt, 'aGFzaA=='].join('$'), // 4-byte hash
  ];
  for (const encoded of bad) {
    assert.equal(await verifyPassword('a perfectly fine password', encoded), false, `accepted ${JSON.stringify(encoded)}`);
    assert.equal(needsRehash(encoded), true, `unreadable ${JSON.stringify(encoded)} should be replaced`);
  }
  assert.equal(await verifyPassword('a perfectly fine password', null as unknown as string), false);
  assert.equal(await verifyPassword(undefined as unknown as string, good), false);
  assert.equal(await verifyPassword('a perfectly fine password', good), true, 'the untouched hash still verifies');
});

test('hashes made with other parameters still verify but ask to be re-hashed', async () => {
  assert.equal(needsRehash(await hashPassword('current parameters')), false);
  assert.equal(needsRehash(rfc7914), true, 'N=2^14 and a 14-byte salt are below today’s parameters');
  const salt = Buffer.alloc(16, 3).toString('base64');
  const hash = Buffer.alloc(64, 4).toString('base64');
  assert.equal(needsRehash(`scrypt$32768$8$1$${salt}$${hash}`), false);
  assert.equal(needsRehash(`scrypt$65536$8$1$${salt}$${hash}`), true);
  assert.equal(needsRehash(`scrypt$32768$16$1$${salt}$${hash}`), true);
  assert.equal(needsRehash(`scrypt$32768$8$2$${salt}$${hash}`), true);
  assert.equal(needsRehash(`scrypt$32768$8$1$${salt}$${Buffer.alloc(32, 4).toString('base64')}`), true);
});

test('a login for an unknown email does the same work as a real verification, and fails', async () => {
  // No timing here (a busy machine makes timings lie): the dummy hash has today's parameters, so
  // verifying against it runs the same full scrypt a real account's hash does.
  assert.equal(needsRehash(dummyPasswordHash), false);
  assert.match(dummyPasswordHash, encodedPattern);
  assert.equal(await dummyVerify(), false);
  assert.equal(await verifyPassword('dummy password', dummyPasswordHash), false);
});

test('weak passwords are explained', () => {
  assert.deepEqual(passwordProblems('a sound passphrase', {}), []);
  assert.deepEqual(passwordProblems('short', {}), ['Use at least 12 characters.']);
  assert.deepEqual(passwordProblems('x'.repeat(12), {}), []);
  assert.deepEqual(passwordProblems('x'.repeat(11), {}), ['Use at least 12 characters.']);
  assert.deepEqual(passwordProblems('x'.repeat(256), {}), []);
  assert.deepEqual(passwordProblems('x'.repeat(257), {}), ['Use at most 256 characters.']);
  // Characters as the user sees them: 12 accented letters are 12, whatever their encoding.
  assert.deepEqual(passwordProblems('e\u0301'.repeat(12), {}), []);
  assert.deepEqual(passwordProblems('😀'.repeat(12), {}), []);

  assert.deepEqual(passwordProblems('alice.martin', { email: 'Alice.Martin@example.com' }), ['Do not use your email address in your password.']);
  assert.deepEqual(passwordProblems('2024-ALICE.MARTIN-shop', { email: 'alice.martin@example.com' }), ['Do not use your email address in your password.']);
  assert.deepEqual(passwordProblems('a sound passphrase', { email: 'alice.martin@example.com' }), []);
  assert.deepEqual(passwordProblems('jo jo jo jo jo jo', { email: 'jo@example.com' }), [], 'two-letter local parts are not checked');

  assert.deepEqual(passwordProblems('123456789012', {}), ['This password is too common.']);
  assert.deepEqual(passwordProblems('AzertyUiop12', {}), ['This password is too common.']);
  assert.deepEqual(passwordProblems('motdepasse123', {}), ['This password is too common.']);
  assert.deepEqual(passwordProblems('password123', { email: 'password@example.com' }), [
    'Use at least 12 characters.',
    'Do not use your email address in your password.',
    'This password is too common.',
  ]);
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { signWebhook, verifyWebhookSignature } from '../../payments/webhook-signature';

const secret = 'whsec_3kGx9p2QvTn7yR4cWm8ZbL1dHs6FjA0e';
const body = '{"id":"evt_1","type":"payment.captured","data":{"providerPaymentId":"pay_1","orderId":"o_1","amount":1999,"currency":"EUR"}}';
const t = 1_767_225_600; // 2026-01-01T00:00:00Z

test('a signature is HMAC-SHA256 over "<t>.<raw body>", in the documented header format, and verifies', () => {
  const header = signWebhook(secret, body, t);
  // Computed independently of the module, so a change of format or algorithm fails here.
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  assert.equal(header, `t=${t},v1=${expected}`);
  assert.deepEqual(verifyWebhookSignature(secret, header, body, t), { ok: true, timestamp: t });
  assert.deepEqual(verifyWebhookSignature(secret, header, Buffer.from(body), new Date(t * 1000)), { ok: true, timestamp: t }, 'raw bytes and a Date work too');
});

test('a body changed by one byte, or re-serialised, is a bad signature', () => {
  const header = signWebhook(secret, body, t);
  assert.deepEqual(verifyWebhookSignature(secret, header, body.replace('1999', '1998'), t), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyWebhookSignature(secret, header, JSON.stringify(JSON.parse(body), null, 1), t), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyWebhookSignature(secret, header, `${body} `, t), { ok: false, reason: 'bad_signature' });
});

test('another secret, or a timestamp changed in the header, is a bad signature', () => {
  const header = signWebhook(secret, body, t);
  assert.deepEqual(verifyWebhookSignature(`${secret}x`, header, body, t), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyWebhookSignature(secret, signWebhook('another-secret', body, t), body, t), { ok: false, reason: 'bad_signature' });
  // Moving the timestamp forward to dodge the window breaks the signature, since t is signed.
  assert.deepEqual(verifyWebhookSignature(secret, header.replace(`t=${t}`, `t=${t + 1}`), body, t), { ok: false, reason: 'bad_signature' });
});

test('a genuine signature outside the window, past or future, is expired; at the edge it is accepted', () => {
  const header = signWebhook(secret, body, t);
  assert.equal(verifyWebhookSignature(secret, header, body, t + 300).ok, true);
  assert.equal(verifyWebhookSignature(secret, header, body, t - 300).ok, true);
  assert.deepEqual(verifyWebhookSignature(secret, header, body, t + 301), { ok: false, reason: 'expired' });
  assert.deepEqual(verifyWebhookSignature(secret, header, body, t - 301), { ok: false, reason: 'expired' }, 'a timestamp from the future');
  assert.deepEqual(verifyWebhookSignature(secret, header, body, t + 61, 60), { ok: false, reason: 'expired' }, 'the window is a parameter');
  // A forgery is a forgery, whatever its age.
  assert.deepEqual(verifyWebhookSignature(secret, signWebhook('nope', body, t), body, t + 10_000), { ok: false, reason: 'bad_signature' });
});

test('malformed headers are refused as such', () => {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  for (const header of [
    undefined,
    null,
    '',
    'garbage',
    `v1=${v1}`, // no timestamp
    `t=${t}`, // no signature
    `t=${t},v0=${v1}`, // only an unknown scheme
    `t=abc,v1=${v1}`,
    `t=-5,v1=${v1}`,
    `t=${t},t=${t},v1=${v1}`,
    `t=${t},v1=${v1.slice(0, 63)}`,
    `t=${t},v1=${v1}zz`,
    `t=${t},v1=${'g'.repeat(64)}`,
    `t=${t},,v1=${v1}`,
    `t=${t},v1=${v1},${'x'.repeat(5000)}`,
  ]) {
    assert.deepEqual(verifyWebhookSignature(secret, header, body, t), { ok: false, reason: 'malformed' }, String(header).slice(0, 80));
  }
  // Spaces after commas and unknown schemes beside v1 are tolerated.
  assert.equal(verifyWebhookSignature(secret, `t=${t}, v0=abc, v1=${v1}`, body, t).ok, true);
});

test('rotation: several v1 entries in the header, several secrets at the receiver — any matching pair passes', () => {
  const oldSecret = 'whsec_old_0000000000000000000000000000';
  const newSecret = 'whsec_new_1111111111111111111111111111';
  const both = signWebhook([newSecret, oldSecret], body, t);
  assert.equal(both.split(',').filter((p) => p.startsWith('v1=')).length, 2);
  assert.equal(verifyWebhookSignature(oldSecret, both, body, t).ok, true, 'a receiver still on the old secret');
  assert.equal(verifyWebhookSignature(newSecret, both, body, t).ok, true, 'a receiver already on the new secret');
  assert.equal(verifyWebhookSignature('whsec_other', both, body, t).ok, false);
  // The receiver side of a rotation: it accepts either secret while senders move over.
  assert.equal(verifyWebhookSignature([newSecret, oldSecret], signWebhook(oldSecret, body, t), body, t).ok, true);
  assert.equal(verifyWebhookSignature([newSecret, oldSecret], signWebhook(newSecret, body, t), body, t).ok, true);
  assert.deepEqual(verifyWebhookSignature([newSecret, oldSecret], signWebhook('whsec_other', body, t), body, t), { ok: false, reason: 'bad_signature' });
  // Extra v1 entries do not help a forger: a bogus one beside a genuine one from another secret still fails.
  const forged = `${signWebhook('whsec_attacker', body, t)},v1=${'0'.repeat(64)}`;
  assert.deepEqual(verifyWebhookSignature(newSecret, forged, body, t), { ok: false, reason: 'bad_signature' });
});

test('misuse is loud: milliseconds for now, an empty secret', () => {
  const header = signWebhook(secret, body, t);
  assert.throws(() => verifyWebhookSignature(secret, header, body, t * 1000), RangeError);
  assert.throws(() => verifyWebhookSignature('', header, body, t), RangeError);
  assert.throws(() => signWebhook('', body, t), RangeError);
  assert.throws(() => signWebhook(secret, body, 1.5), RangeError);
});

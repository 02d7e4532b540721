import { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mediaKey, parseMediaKey, sniffImageType } from '../../media/image-type';
import { localMediaStore, mediaStoreSettings, s3ClientOptions, s3MediaStore } from '../../media/store';
import { loadConfig } from '../../platform/config';

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

test('image types are read from the bytes, whatever the name or declared type', () => {
  assert.equal(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xdb], 'rest')), 'image/jpeg');
  assert.equal(sniffImageType(bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a], 'IHDR')), 'image/png');
  assert.equal(sniffImageType(bytes('RIFF', be32(100), 'WEBPVP8 ')), 'image/webp');
  assert.equal(sniffImageType(bytes(be32(28), 'ftypavif', be32(0), 'avifmif1miaf')), 'image/avif');
  // AVIF announced only among the compatible brands.
  assert.equal(sniffImageType(bytes(be32(24), 'ftypmif1', be32(0), 'mif1avif')), 'image/avif');
  assert.equal(sniffImageType(bytes(be32(24), 'ftypisom', be32(0), 'isomiso2')), undefined, 'an MP4 is not an image');
  assert.equal(sniffImageType(bytes('RIFF', be32(100), 'WAVEfmt ')), undefined, 'a WAV is not an image');
  assert.equal(sniffImageType(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined, 'SVG can carry scripts: refused');
  assert.equal(sniffImageType(bytes('GIF89a')), undefined);
  assert.equal(sniffImageType(new Uint8Array()), undefined);
  assert.equal(sniffImageType(bytes([0x89], 'PN')), undefined, 'a truncated signature');
});

test('media keys are content-addressed under the product and parse back; anything else is refused', () => {
  const productId = '0b6c7a52-8f0e-4a59-9d3e-2f4b1c9e7a10';
  const image = bytes([0xff, 0xd8, 0xff], 'same');
  const key = mediaKey(productId, image, 'image/jpeg');
  assert.equal(key, mediaKey(productId, bytes([0xff, 0xd8, 0xff], 'same'), 'image/jpeg'), 'same bytes, same key');
  assert.notEqual(key, mediaKey(productId, bytes([0xff, 0xd8, 0xff], 'other'), 'image/jpeg'));
  assert.match(key, new RegExp(`^${productId}/[0-9a-f]{64}\\.jpg$`));
  assert.deepEqual(parseMediaKey(key), { sha256: key.slice(37, 101), contentType: 'image/jpeg' });
  for (const bad of [`../${key}`, `${productId}/../../secrets.json`, key.replace('.jpg', '.svg'), key.toUpperCase(), `${productId}/${'a'.repeat(63)}.png`]) {
    assert.equal(parseMediaKey(bad), undefined, bad);
  }
});

test('storage: local disk under DATA_DIR/media by default, MEDIA_DIR when set, S3 as soon as S3_BUCKET is set', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'comptoir-media-'));
  assert.deepEqual(mediaStoreSettings(loadConfig({ DATA_DIR: dataDir })), { kind: 'local', dir: join(dataDir, 'media') });
  assert.deepEqual(mediaStoreSettings(loadConfig({ DATA_DIR: dataDir, MEDIA_DIR: '/srv/media' })), { kind: 'local', dir: '/srv/media' });
  const s3 = mediaStoreSettings(
    loadConfig({ DATA_DIR: dataDir, S3_BUCKET: 'comptoir-media', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_REGION: 'eu-west-3', S3_PUBLIC_URL: 'https://cdn.example.com/media/' }),
  );
  assert.deepEqual(s3, { kind: 's3', bucket: 'comptoir-media', region: 'eu-west-3', endpoint: 'http://127.0.0.1:9000', publicUrl: 'https://cdn.example.com/media' });
  assert.deepEqual(mediaStoreSettings(loadConfig({ DATA_DIR: dataDir, S3_BUCKET: 'b-aws' })), { kind: 's3', bucket: 'b-aws', region: 'us-east-1' });
  // A custom endpoint (MinIO, R2, …) is addressed path-style; AWS itself keeps virtual-hosted style.
  assert.deepEqual(s3ClientOptions(s3 as Extract<typeof s3, { kind: 's3' }>), { region: 'eu-west-3', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
  assert.deepEqual(s3ClientOptions({ kind: 's3', bucket: 'b', region: 'eu-west-1' }), { region: 'eu-west-1' });
});

test('S3 with a public URL: readers are redirected to the object, without asking S3', async () => {
  // Pointed at a closed port: any request to S3 would fail the test.
  const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  const store = s3MediaStore({ kind: 's3', bucket: 'b', region: 'us-east-1', publicUrl: 'https://cdn.example.com' }, client);
  assert.deepEqual(await store.get('p/k.png'), { kind: 'redirect', location: 'https://cdn.example.com/p/k.png' });
  client.destroy();
});

test('local store: put, read back, remove, and removing twice is fine', async () => {
  const store = localMediaStore(mkdtempSync(join(tmpdir(), 'comptoir-media-')));
  const key = `${crypto.randomUUID()}/${'b'.repeat(64)}.png`;
  assert.equal(await store.get(key), undefined);
  await store.put(key, bytes('hello'), 'image/png');
  await store.put(key, bytes('hello'), 'image/png');
  const stored = await store.get(key);
  assert.equal(stored?.kind, 'body');
  if (stored?.kind !== 'body') return;
  assert.equal(stored.bytes, 5);
  assert.equal(await new Response(stored.body).text(), 'hello');
  await store.remove(key);
  await store.remove(key);
  assert.equal(await store.get(key), undefined);
});

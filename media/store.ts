import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../platform/config';

/** A stored file as `GET /media/{key}` answers it: its bytes, or where to find them. */
export type StoredMedia =
  | { kind: 'body'; body: ReadableStream<Uint8Array>; bytes?: number }
  | { kind: 'redirect'; location: string };

/** Where product images live. Keys are content-addressed, so `put` of an existing key is a no-op in effect. */
export interface MediaStore {
  readonly kind: 'local' | 's3';
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<StoredMedia | undefined>;
  /** Removing a file that is not there is not an error. */
  remove(key: string): Promise<void>;
}

export const immutableCacheControl = 'public, max-age=31536000, immutable';

export type MediaStoreSettings =
  | { kind: 'local'; dir: string }
  | { kind: 's3'; bucket: string; region: string; endpoint?: string; publicUrl?: string };

/** S3 as soon as a bucket is configured; otherwise local disk under MEDIA_DIR (default `DATA_DIR/media`). */
export function mediaStoreSettings(config: Pick<Config, 'DATA_DIR' | 'MEDIA_DIR' | 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_PUBLIC_URL'>): MediaStoreSettings {
  if (config.S3_BUCKET) {
    return {
      kind: 's3',
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      ...(config.S3_PUBLIC_URL ? { publicUrl: config.S3_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    };
  }
  return { kind: 'local', dir: config.MEDIA_DIR ?? join(config.DATA_DIR, 'media') };
}

export function localMediaStore(dir: string): MediaStore {
  // Keys are checked by the caller (`parseMediaKey`) before they reach here, so they never climb out of `dir`.
  const pathOf = (key: string) => join(dir, ...key.split('/'));
  return {
    kind: 'local',
    async put(key, bytes) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Written aside then renamed: a reader never sees half a file, and two identical uploads converge.
      const partial = `${path}.${process.pid}.${Date.now()}.partial`;
      await writeFile(partial, bytes);
      await rename(partial, path);
    },
    async get(key) {
      const path = pathOf(key);
      const stats = await stat(path).catch(() => undefined);
      if (!stats?.isFile()) return undefined;
      return { kind: 'body', body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, bytes: stats.size };
    },
    async remove(key) {
      await unlink(pathOf(key)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
  };
}

type S3Settings = Extract<MediaStoreSettings, { kind: 's3' }>;

export function s3ClientOptions(settings: S3Settings): S3ClientConfig {
  return { region: settings.region, ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}) };
}

/**
 * Any S3-compatible service. Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, profile, instance role). A custom endpoint (MinIO, R2, …) is addressed
 * path-style, which those services expect. With a public URL (bucket website or CDN) readers are sent
 * there; without one the API streams the object, so the bucket can stay private.
 */
export function s3MediaStore(settings: S3Settings, client?: S3Client): MediaStore {
  const s3 = client ?? new S3Client(s3ClientOptions(settings));
  const Bucket = settings.bucket;
  return {
    kind: 's3',
    async put(key, bytes, contentType) {
      await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: bytes, ContentType: contentType, CacheControl: immutableCacheControl }));
    },
    async get(key) {
      if (settings.publicUrl) return { kind: 'redirect', location: `${settings.publicUrl}/${key}` };
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!object.Body) return undefined;
        return { kind: 'body', body: object.Body.transformToWebStream() as ReadableStream<Uint8Array>, bytes: object.ContentLength };
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async remove(key) {
      // S3 answers 204 for a key that is not there.
      await s3.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
  };
}

export function createMediaStore(settings: MediaStoreSettings): MediaStore {
  return settings.kind === 's3' ? s3MediaStore(settings) : localMediaStore(settings.dir);
}

// One store (and one S3 client with its connection pool) per configuration, not per request.
const stores = new WeakMap<Config, MediaStore>();

export function mediaStoreFor(config: Config): MediaStore {
  let store = stores.get(config);
  if (!store) stores.set(config, (store = createMediaStore(mediaStoreSettings(config))));
  return store;
}

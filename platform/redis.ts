import { Redis } from 'ioredis';

/**
 * Fails fast instead of queueing commands while Redis is away: callers fall back (cache) or answer 503,
 * and the client keeps reconnecting in the background.
 */
export function connectRedis(url: string, keyPrefix: string): Redis {
  return new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/** Starts connecting without letting a down Redis crash the process: errors surface on each command instead. */
export function startRedis(redis: Redis, onError: (error: Error) => void): Redis {
  redis.on('error', onError);
  redis.connect().catch(() => {});
  return redis;
}

export class RedisTimeout extends Error {
  override name = 'RedisTimeout';
}

/**
 * Bounds one Redis command: a hung Redis must cost a caller with a fallback (read cache, rate
 * limiter) one short wait, not the client's own reconnect timeouts.
 */
export function withRedisTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeout(`no answer from Redis within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

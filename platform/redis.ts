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

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import type { Logger } from './logger';
import { withRedisTimeout } from './redis';

/**
 * Read cache in Redis, cache-aside: Postgres stays the truth and the cache may only ever make a read
 * faster, never fail it. Entries are deleted when the catalog outbox says the data behind them changed
 * (`invalidate`), and expire after their TTL in case an invalidation is lost.
 */

export interface ReadCacheOptions {
  /** Longest wait for any one Redis command before the read goes to Postgres: a hung Redis must not add seconds. */
  commandTimeoutMs: number;
  /** How long the process that won the load lock may take before others stop waiting for it. */
  lockMs: number;
  /** How long a process that lost the lock polls for the winner's value before loading by itself. */
  waitMs: number;
  pollMs: number;
  /** After a failed or slow command, reads skip Redis this long: a hung Redis costs one timeout, not one per request. */
  backoffMs: number;
}

const defaults: ReadCacheOptions = { commandTimeoutMs: 100, lockMs: 2_000, waitMs: 500, pollMs: 20, backoffMs: 1_000 };

type Outcome = 'hit' | 'miss' | 'waited' | 'bypass';

/**
 * Per process; registered on the API's registry by api/metrics.ts. `cache` is the key family (never
 * the key itself, which would make one series per product).
 */
export const cacheLookupsMetric = 'comptoir_cache_lookups_total';
export const cacheLookups = new Counter({
  name: cacheLookupsMetric,
  help: 'Read-cache lookups by key family and outcome (hit, miss, waited for another loader, bypass when Redis is down)',
  labelNames: ['cache', 'outcome'] as const,
  registers: [],
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Deletes the lock only while it still holds our token: a loader slower than lockMs must not free
// the lock another process took after it expired.
const releaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export class ReadCache {
  private readonly options: ReadCacheOptions;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private outage = false;
  private skipUntil = 0;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: Partial<ReadCacheOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
  }

  /**
   * The cached value of `key`, or `load()`'s, stored for `ttlSeconds`. Concurrent misses for one key
   * share one load in this process (single-flight) and, through a short Redis lock, across processes.
   * `undefined` (not found) is returned as is and not stored.
   */
  get<T>(key: string, family: string, ttlSeconds: number, load: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.shared(`value:${key}`, () => this.lookup(key, family, ttlSeconds, load, (raw) => JSON.parse(raw) as T, (value) => JSON.stringify(value)));
  }

  /**
   * Like `get`, but answers the JSON text as stored: a route that sends the value on as it is skips
   * parsing it and serialising it again, the dearest part of a cache hit.
   */
  getJson(key: string, family: string, ttlSeconds: number, load: () => Promise<unknown>): Promise<string | undefined> {
    const loadText = async () => {
      const value = await load();
      return value === undefined ? undefined : JSON.stringify(value);
    };
    return this.shared(`json:${key}`, () => this.lookup(key, family, ttlSeconds, loadText, (raw) => raw, (text) => text));
  }

  /** Concurrent callers for one key in this process share one lookup (single-flight). */
  private shared<T>(flightKey: string, lookup: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(flightKey) as Promise<T> | undefined;
    if (running) return running;
    const flight = lookup().finally(() => this.inFlight.delete(flightKey));
    this.inFlight.set(flightKey, flight);
    return flight;
  }

  /** The raw value of `key`: null when there is none, undefined when Redis cannot answer right now. */
  async peek(key: string): Promise<string | null | undefined> {
    if (this.redis.status !== 'ready' || Date.now() < this.skipUntil) return undefined;
    try {
      return await this.command(this.redis.get(key));
    } catch {
      return undefined;
    }
  }

  /** Deletes entries now; a Redis that is down is reported to the caller, who may retry (the outbox does). */
  invalidate(keys: string[]): Promise<number> {
    return invalidate(this.redis, keys);
  }

  private async lookup<T>(
    key: string,
    family: string,
    ttlSeconds: number,
    load: () => Promise<T | undefined>,
    decode: (raw: string) => T,
    encode: (value: T) => string,
  ): Promise<T | undefined> {
    // A client that is not connected fails every command at once (no offline queue), but checking
    // first saves even that during an outage.
    if (this.redis.status !== 'ready') return this.bypass(family, load, new Error(`redis client is ${this.redis.status}`));
    if (Date.now() < this.skipUntil) return this.bypass(family, load, new Error('redis failed a moment ago'));
    let cached: string | null;
    try {
      cached = await this.command(this.redis.get(key));
    } catch (error) {
      return this.bypass(family, load, error);
    }
    if (cached !== null) return this.found(family, 'hit', cached, decode);

    const token = randomUUID();
    const lockKey = `${key}:loading`;
    let locked = false;
    try {
      locked = (await this.command(this.redis.set(lockKey, token, 'PX', this.options.lockMs, 'NX'))) === 'OK';
    } catch (error) {
      return this.bypass(family, load, error);
    }
    if (!locked) {
      const deadline = Date.now() + this.options.waitMs;
      while (Date.now() < deadline) {
        await sleep(this.options.pollMs);
        try {
          const [value, loading] = await this.command(this.redis.mget(key, lockKey));
          if (value != null) return this.found(family, 'waited', value, decode);
          // The winner is done and stored nothing (not found) or gave up: waiting longer gains nothing.
          if (loading == null) break;
        } catch (error) {
          return this.bypass(family, load, error);
        }
      }
      // The winner is slow or gone (or found nothing to store): load rather than keep the shopper waiting.
    }

    cacheLookups.inc({ cache: family, outcome: 'miss' });
    try {
      const value = await load();
      if (value !== undefined) await this.quietly(this.redis.set(key, encode(value), 'EX', ttlSeconds));
      return value;
    } finally {
      if (locked) await this.quietly(this.redis.eval(releaseScript, 1, lockKey, token));
    }
  }

  private found<T>(family: string, outcome: Outcome, raw: string, decode: (raw: string) => T): T {
    this.recovered();
    cacheLookups.inc({ cache: family, outcome });
    return decode(raw);
  }

  private async bypass<T>(family: string, load: () => Promise<T | undefined>, error: unknown): Promise<T | undefined> {
    if (!this.outage) {
      this.outage = true;
      this.logger.warn({ err: { message: (error as Error)?.message } }, 'read cache unavailable: reading from Postgres until Redis answers again');
    }
    cacheLookups.inc({ cache: family, outcome: 'bypass' });
    return load();
  }

  private recovered() {
    if (this.outage) {
      this.outage = false;
      this.logger.info('read cache available again');
    }
  }

  private command<T>(promise: Promise<T>): Promise<T> {
    return withRedisTimeout(promise, this.options.commandTimeoutMs).then(
      (value) => {
        this.recovered();
        return value;
      },
      (error: unknown) => {
        this.skipUntil = Date.now() + this.options.backoffMs;
        throw error;
      },
    );
  }

  /** Writes that only warm the cache: their failure changes nothing for the reader. */
  private async quietly(promise: Promise<unknown>): Promise<void> {
    try {
      await this.command(promise);
    } catch {
      // The next read misses and loads again; an outage is logged by the reads themselves.
    }
  }
}

const caches = new WeakMap<Redis, ReadCache>();

/** One cache per Redis client, so its single-flight map covers the whole process. */
export function readCacheFor(redis: Redis, logger: Logger): ReadCache {
  let cache = caches.get(redis);
  if (!cache) caches.set(redis, (cache = new ReadCache(redis, logger)));
  return cache;
}

/** Deletes cache entries (keys from cache/catalog-keys.ts; the client's keyPrefix is added by ioredis). */
export async function invalidate(redis: Redis, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  return redis.del(...keys);
}

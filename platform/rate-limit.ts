import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from './logger';
import { withRedisTimeout } from './redis';

/**
 * Rate limits and progressive lock-out, shared by every API process through Redis.
 *
 * Clock: the Redis scripts read the Redis server's clock (`TIME`), never the caller's, so API processes
 * whose clocks drift apart still agree on one window. The in-process fallback uses `Date.now()`; it
 * only ever compares its own timestamps, so it needs no shared clock.
 *
 * Redis down or slow: every command is bounded (100 ms by default) and, on failure, the limiter counts
 * in this process instead, with the same rules. That limit is per process, so with N API processes a
 * client may get up to N × limit through during an outage: looser, but never wide open and never an
 * error for the shopper. A command that timed out may still run in Redis later and count once more,
 * which only errs on the strict side.
 */

export interface RateLimitRule {
  /** Part of the Redis key: `ratelimit:<name>:<subject>`. */
  name: string;
  /** Requests admitted within any `windowMs` stretch of time. */
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Requests still admitted in the current window once this one is counted. */
  remaining: number;
  /** When refused: how long until the oldest counted request leaves the window; 0 when allowed. */
  retryAfterMs: number;
}

export interface LockoutState {
  locked: boolean;
  /** How long the lock still lasts; 0 when not locked. */
  retryAfterMs: number;
}

export interface FailureRecord extends LockoutState {
  /** Consecutive failures so far, this one included. */
  failures: number;
}

export interface LockoutPolicy {
  /** The failure that first locks the subject (the 5th by default). */
  threshold: number;
  /** Lock after the threshold-th failure; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
  /** The failure count is forgotten after this long without a new failure. */
  quietMs: number;
}

export interface RateLimiterOptions {
  /** Longest wait for one Redis command before counting in this process instead. */
  commandTimeoutMs: number;
  /** After a failed or slow command, skip Redis this long: a hung Redis costs one timeout, not one per request. */
  backoffMs: number;
  /** Subjects the in-process fallback remembers; the least recently seen are forgotten first. */
  fallbackMaxSubjects: number;
  lockout: LockoutPolicy;
}

const minute = 60_000;
const hour = 60 * minute;

const defaults: RateLimiterOptions = {
  commandTimeoutMs: 100,
  backoffMs: 1_000,
  fallbackMaxSubjects: 10_000,
  lockout: { threshold: 5, baseMs: 1_000, maxMs: 15 * minute, quietMs: 24 * hour },
};

/**
 * The limits of the identity routes, in one place. `ip` rules are keyed by client address, `account`
 * rules by the account named in the request (so spreading an attack over many addresses still meets
 * the per-account limit).
 */
export const rateLimitRules = {
  api: { ip: { name: 'api:ip', limit: 300, windowMs: minute } },
  login: {
    ip: { name: 'login:ip', limit: 10, windowMs: 15 * minute },
    account: { name: 'login:account', limit: 5, windowMs: 15 * minute },
  },
  register: { ip: { name: 'register:ip', limit: 5, windowMs: hour } },
  passwordReset: {
    ip: { name: 'password-reset:ip', limit: 5, windowMs: hour },
    account: { name: 'password-reset:account', limit: 3, windowMs: hour },
  },
} as const satisfies Record<string, { ip: RateLimitRule; account?: RateLimitRule }>;

export const rateLimitKey = (rule: Pick<RateLimitRule, 'name'>, subject: string) => `ratelimit:${rule.name}:${subject}`;
export const lockoutKey = (scope: string, subject: string) => `lockout:${scope}:${subject}`;

/** `baseMs × 2^(failures − threshold)`, capped; 0 below the threshold. Mirrors `recordFailureScript`. */
export function lockDurationMs(policy: LockoutPolicy, failures: number): number {
  if (failures < policy.threshold) return 0;
  // The exponent is capped too, so a subject failing for days cannot overflow to Infinity.
  return Math.min(policy.baseMs * 2 ** Math.min(failures - policy.threshold, 40), policy.maxMs);
}

// ---------------------------------------------------------------------------------------------
// Redis side: one Lua script per operation, so concurrent API processes never race between
// reading a count and writing it.

const serverNowMs = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/** KEYS[1] the window's sorted set; ARGV limit, windowMs, a unique member. Returns {allowed, remaining, retryAfterMs}. */
const consumeScript = `${serverNowMs}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
-- Refused requests are not counted: a client that keeps knocking is let in again as soon as its
-- oldest admitted request leaves the window.
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] == nil then return {0, 0, window} end
return {0, 0, math.max(1, tonumber(oldest[2]) + window - now)}
`;

/** KEYS[1] the lock-out hash; ARGV threshold, baseMs, maxMs, quietMs. Returns {failures, lockMs}. */
const recordFailureScript = `${serverNowMs}
local threshold, base, max, quiet = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local lock = 0
if failures >= threshold then
  lock = math.min(base * 2 ^ math.min(failures - threshold, 40), max)
  redis.call('HSET', KEYS[1], 'lockedUntil', now + lock)
end
-- The lock must outlive the key even if quietMs is configured shorter than a lock.
redis.call('PEXPIRE', KEYS[1], math.max(quiet, lock))
return {failures, lock}
`;

/** KEYS[1] the lock-out hash. Returns the milliseconds the lock still lasts (0: not locked). */
const lockoutScript = `${serverNowMs}
local lockedUntil = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil') or '0')
if lockedUntil > now then return lockedUntil - now end
return 0
`;

interface LuaScript {
  source: string;
  sha: string;
}

const lua = (source: string): LuaScript => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const scripts = { consume: lua(consumeScript), recordFailure: lua(recordFailureScript), lockout: lua(lockoutScript) };

/** EVALSHA, loading the script with EVAL once Redis says it does not know it (restart, SCRIPT FLUSH). */
async function runScript(redis: Redis, script: LuaScript, key: string, args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, 1, key, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, 1, key, ...args);
  }
}

// ---------------------------------------------------------------------------------------------
// In-process side: the same semantics on this process's clock, bounded in memory.

/** A Map that forgets its least recently used entries beyond `max`: a flood of new subjects cannot grow it without end. */
class BoundedMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Re-inserts so the Map's insertion order stays least-recently-used first. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

class LocalWindows {
  /** Admission times per key, oldest first, never more than the rule's limit. */
  private readonly windows: BoundedMap<number[]>;

  constructor(maxSubjects: number) {
    this.windows = new BoundedMap(maxSubjects);
  }

  consume(rule: RateLimitRule, subject: string, now = Date.now()): RateLimitDecision {
    const key = rateLimitKey(rule, subject);
    const admitted = (this.windows.get(key) ?? []).filter((time) => time > now - rule.windowMs);
    if (admitted.length < rule.limit) {
      admitted.push(now);
      this.windows.set(key, admitted);
      return { allowed: true, remaining: rule.limit - admitted.length, retryAfterMs: 0 };
    }
    this.windows.set(key, admitted);
    const oldest = admitted[0];
    return { allowed: false, remaining: 0, retryAfterMs: oldest === undefined ? rule.windowMs : Math.max(1, oldest + rule.windowMs - now) };
  }
}

interface LocalFailures {
  failures: number;
  lockedUntil: number;
  forgetAt: number;
}

class LocalLockouts {
  private readonly subjects: BoundedMap<LocalFailures>;

  constructor(
    private readonly policy: LockoutPolicy,
    maxSubjects: number,
  ) {
    this.subjects = new BoundedMap(maxSubjects);
  }

  recordFailure(scope: string, subject: string, now = Date.now()): FailureRecord {
    const key = lockoutKey(scope, subject);
    const known = this.current(key, now);
    const failures = (known?.failures ?? 0) + 1;
    const lockMs = lockDurationMs(this.policy, failures);
    this.subjects.set(key, {
      failures,
      lockedUntil: lockMs > 0 ? now + lockMs : 0,
      forgetAt: now + Math.max(this.policy.quietMs, lockMs),
    });
    return { failures, locked: lockMs > 0, retryAfterMs: lockMs };
  }

  lockout(scope: string, subject: string, now = Date.now()): LockoutState {
    const lockedUntil = this.current(lockoutKey(scope, subject), now)?.lockedUntil ?? 0;
    return lockedUntil > now ? { locked: true, retryAfterMs: lockedUntil - now } : { locked: false, retryAfterMs: 0 };
  }

  clear(scope: string, subject: string): void {
    this.subjects.delete(lockoutKey(scope, subject));
  }

  /** The entry for `key` unless its quiet period has run out (what PEXPIRE does in Redis). */
  private current(key: string, now: number): LocalFailures | undefined {
    const entry = this.subjects.get(key);
    if (entry && entry.forgetAt <= now) {
      this.subjects.delete(key);
      return undefined;
    }
    return entry;
  }
}

// ---------------------------------------------------------------------------------------------

export type RateLimiterSettings = Partial<Omit<RateLimiterOptions, 'lockout'>> & { lockout?: Partial<LockoutPolicy> };

export class RateLimiter {
  private readonly options: RateLimiterOptions;
  private readonly windows: LocalWindows;
  private readonly lockouts: LocalLockouts;
  private outage = false;
  private skipUntil = 0;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    settings: RateLimiterSettings = {},
  ) {
    this.options = { ...defaults, ...settings, lockout: { ...defaults.lockout, ...settings.lockout } };
    this.windows = new LocalWindows(this.options.fallbackMaxSubjects);
    this.lockouts = new LocalLockouts(this.options.lockout, this.options.fallbackMaxSubjects);
  }

  /** Counts one request of `subject` against `rule`, unless the window is already full. */
  consume(rule: RateLimitRule, subject: string): Promise<RateLimitDecision> {
    return this.inRedisOrLocally(
      async () => {
        const reply = await runScript(this.redis, scripts.consume, rateLimitKey(rule, subject), [rule.limit, rule.windowMs, randomUUID()]);
        const [allowed, remaining, retryAfterMs] = reply as [number, number, number];
        return { allowed: allowed === 1, remaining, retryAfterMs };
      },
      () => this.windows.consume(rule, subject),
    );
  }

  /** One more consecutive failure (a wrong password, say); from the threshold on, it locks the subject. */
  recordFailure(scope: string, subject: string): Promise<FailureRecord> {
    const { threshold, baseMs, maxMs, quietMs } = this.options.lockout;
    return this.inRedisOrLocally(
      async () => {
        const reply = await runScript(this.redis, scripts.recordFailure, lockoutKey(scope, subject), [threshold, baseMs, maxMs, quietMs]);
        const [failures, lockMs] = reply as [number, number];
        return { failures, locked: lockMs > 0, retryAfterMs: lockMs };
      },
      () => this.lockouts.recordFailure(scope, subject),
    );
  }

  /** After a success: the next failure starts counting from one again. */
  async clearFailures(scope: string, subject: string): Promise<void> {
    // Both places: failures counted locally during an outage must not outlive the success either.
    this.lockouts.clear(scope, subject);
    await this.inRedisOrLocally(
      async () => {
        await this.redis.del(lockoutKey(scope, subject));
      },
      () => undefined,
    );
  }

  /** Whether `subject` is locked out of `scope` right now, and for how long still. */
  lockout(scope: string, subject: string): Promise<LockoutState> {
    return this.inRedisOrLocally(
      async () => {
        const lockMs = (await runScript(this.redis, scripts.lockout, lockoutKey(scope, subject), [])) as number;
        return { locked: lockMs > 0, retryAfterMs: lockMs };
      },
      () => this.lockouts.lockout(scope, subject),
    );
  }

  private async inRedisOrLocally<T>(remote: () => Promise<T>, local: () => T): Promise<T> {
    // A client that is not connected fails every command at once (no offline queue), but checking
    // first saves even that during an outage.
    if (this.redis.status !== 'ready') return this.fallBack(local, new Error(`redis client is ${this.redis.status}`));
    if (Date.now() < this.skipUntil) return this.fallBack(local, new Error('redis failed a moment ago'));
    let value: T;
    try {
      value = await withRedisTimeout(remote(), this.options.commandTimeoutMs);
    } catch (error) {
      this.skipUntil = Date.now() + this.options.backoffMs;
      return this.fallBack(local, error);
    }
    this.recovered();
    return value;
  }

  /** Logs once per outage, not once per request: an outage under load would otherwise flood the logs. */
  private fallBack<T>(local: () => T, error: unknown): T {
    if (!this.outage) {
      this.outage = true;
      this.logger.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, 'rate limiter cannot reach Redis: limiting per process until it answers again');
    }
    return local();
  }

  private recovered(): void {
    if (this.outage) {
      this.outage = false;
      this.logger.info('rate limiter reaches Redis again: limits are shared across processes again');
    }
  }
}

export function createRateLimiter(redis: Redis, logger: Logger, settings: RateLimiterSettings = {}): RateLimiter {
  return new RateLimiter(redis, logger, settings);
}

const limiters = new WeakMap<Redis, RateLimiter>();

/** One limiter per Redis client, so the fallback's counts and the outage log cover the whole process. */
export function rateLimiterFor(redis: Redis, logger: Logger): RateLimiter {
  let limiter = limiters.get(redis);
  if (!limiter) limiters.set(redis, (limiter = createRateLimiter(redis, logger)));
  return limiter;
}

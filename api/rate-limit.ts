import { isIP, isIPv6 } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiterFor, type RateLimitRule } from '../platform/rate-limit';
import type { AppEnv } from './deps';
import { problem } from './problem';

/** Whom a request counts against; undefined when the request names no such subject (then the rule does not apply). */
export type SubjectOf = (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>;

/**
 * Counts each request against `rule` for the subject `subjectOf` picks, and refuses with 429 once the
 * window is full. Allowed responses say how much is left (`RateLimit-Limit`, `RateLimit-Remaining`);
 * where several rules apply to one route, the tightest one is advertised.
 */
export function rateLimit(rule: RateLimitRule, subjectOf: SubjectOf): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const subject = await subjectOf(c);
    if (subject === undefined) return next();
    const { redis, logger } = c.get('deps');
    const decision = await rateLimiterFor(redis, logger).consume(rule, subject);
    if (!decision.allowed) {
      return tooManyRequests(c, decision.retryAfterMs, 'Too many requests; retry after the time given in Retry-After', {
        'RateLimit-Limit': String(rule.limit),
        'RateLimit-Remaining': '0',
      });
    }
    await next();
    advertiseRemaining(c, rule.limit, decision.remaining);
  };
}

/** Keeps the lowest remaining count of all the rules a request went through. */
function advertiseRemaining(c: Context<AppEnv>, limit: number, remaining: number): void {
  const advertised = c.res.headers.get('RateLimit-Remaining');
  if (advertised !== null && Number(advertised) <= remaining) return;
  c.header('RateLimit-Limit', String(limit));
  c.header('RateLimit-Remaining', String(remaining));
}

/** 429 problem document; also for routes that refuse a locked-out account. Retry-After is whole seconds, rounded up. */
export function tooManyRequests(c: Context, retryAfterMs: number, detail: string, headers: Record<string, string> = {}): Response {
  return problem(c, {
    status: 429,
    slug: 'rate-limited',
    title: 'Too Many Requests',
    detail,
    headers: { ...headers, 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  });
}

export interface ClientIpOptions {
  /**
   * Behind one reverse proxy that appends the address it saw to X-Forwarded-For: take that (rightmost)
   * entry. Without a proxy the header is whatever the client wrote, so it is ignored by default.
   */
  trustProxy?: boolean;
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}

/** The address a request counts against, or undefined outside the Node server (no socket to ask). */
export function clientIp(c: Context, options: ClientIpOptions = {}): string | undefined {
  if (options.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded && isIP(withoutZone(forwarded))) return addressSubject(forwarded);
  }
  const address = (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress;
  return address ? addressSubject(address) : undefined;
}

/** `rateLimit(rule, byClientIp())`. */
export const byClientIp =
  (options: ClientIpOptions = {}): SubjectOf =>
  (c) =>
    clientIp(c, options);

const withoutZone = (address: string) => address.split('%')[0]!;

/**
 * IPv4 as is (also when written IPv4-mapped, `::ffff:203.0.113.9`); IPv6 by its /64, because one
 * host is routinely given a whole /64 and could otherwise rotate addresses to escape any limit.
 */
export function addressSubject(address: string): string {
  const plain = withoutZone(address).toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  return isIPv6(plain) ? ipv6Prefix64(plain) : plain;
}

/** `2001:db8:1:2::9` → `2001:db8:1:2::/64`: expands `::` and keeps the first four groups. */
function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

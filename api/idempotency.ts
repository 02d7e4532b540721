/**
 * `Idempotency-Key` for POSTs that create something (DESIGN invariant 2). The first request under a
 * key runs and its answer is kept 24 h; the same key with the same request replays that answer
 * (`Idempotent-Replayed: true`) instead of running again; the same key with another request (another
 * body, route, path or method) is refused with 422. A duplicate that arrives while the first is still
 * running waits for its answer, up to a bound, then gets 409 `idempotency-in-progress`.
 *
 * What is an answer: every response below 500, problems included (a 409 or 422 is what the request
 * deserves, and a retry would get it again). A 5xx, or a handler that throws, gives the key back, so
 * a retry runs the request anew.
 *
 * Keys belong to a scope, so two callers never see each other's answers: the principal (`account:<id>`,
 * `partner:<client id>`); for an anonymous caller, the cart it names (`cart:<SHA-256 of X-Cart-Token>`,
 * never the token itself: the table must not hold credentials), else its address (`ip:<address>`, as
 * the rate limiter sees it). Mount it after the guard (`accessIdempotent`), which sets the principal.
 *
 * Stored bodies are encrypted under the PII keyring: answers to creating routes hold personal data
 * (an address) or secrets shown once (a partner client's secret), which must not rest in clear in a
 * side table when their own tables encrypt them.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  readIdempotencyKey,
  releaseIdempotencyKey,
  type IdempotencyClaim,
  type IdempotencyRecord,
} from '../db/idempotency';
import type { Permission } from '../identity/permissions';
import { decryptPii, encryptPii, PiiError } from '../platform/pii';
import { access } from './auth';
import type { AppEnv } from './deps';
import { problem, problems } from './problem';
import { clientIp } from './rate-limit';
import { routeOf } from './route';

export const idempotencyKeyHeader = 'idempotency-key';
export const replayedHeader = 'Idempotent-Replayed';

export interface IdempotencyOptions {
  /** Refuse requests without a key (400) instead of running them unprotected. */
  required: boolean;
  /** How long a duplicate waits for the first request's answer before answering 409. */
  waitMs?: number;
  /** See `idempotencyLeaseMs` (db/idempotency.ts). */
  leaseMs?: number;
  /** How long keys are kept; 24 h unless a test says otherwise. */
  ttlMs?: number;
}

/** RFC 9110 visible ASCII, no spaces: what clients generate (UUIDs, ULIDs, random strings). */
const keyPattern = /^[\x21-\x7e]{1,255}$/;
const defaultWaitMs = 10_000;

/** What a replay repeats; the rest (request id, rate-limit counters, security headers) belongs to the new request. */
const replayedHeaders = ['content-type', 'location', 'content-location', 'etag', 'last-modified', 'cache-control', 'link'];

const headerError = (message: string) => [{ in: 'header' as const, field: idempotencyKeyHeader, message }];

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Who the key belongs to; see the module comment. Exported for routes (and tests) that need to find a
 * caller's keys, e.g. the GDPR eraser (`account:<id>`).
 */
export function idempotencyScope(c: Context<AppEnv>): string {
  const principal = c.get('principal');
  if (principal?.kind === 'account') return `account:${principal.accountId}`;
  if (principal?.kind === 'partner') return `partner:${principal.clientId}`;
  const cartToken = c.req.header('x-cart-token');
  if (cartToken) return `cart:${sha256(cartToken)}`;
  const ip = clientIp(c, { trustProxy: c.get('deps').config.TRUST_PROXY });
  return ip ? `ip:${ip}` : 'anonymous';
}

/**
 * `POST /v1/me/addresses sha256:<hex>`: method and route pattern in clear (so a refusal can say what
 * the key was first used for), then one digest of the concrete path, the query and the raw body bytes.
 */
function requestHashOf(c: Context<AppEnv>, body: Uint8Array): string {
  const url = c.req.url;
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  const digest = createHash('sha256').update(`${c.req.path}${query}\n`).update(body).digest('hex');
  return `${c.req.method} ${routeOf(c)} sha256:${digest}`;
}

const bodyContext = (scope: string, key: string) => `ops.idempotency_keys.response_body:${JSON.stringify([scope, key])}`;

/**
 * The middleware. Reads the body once through Hono's body cache (`c.req.arrayBuffer()`), so the route's
 * JSON validator still parses it afterwards.
 */
export function idempotent(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const waitMs = options.waitMs ?? defaultWaitMs;
  return async (c, next) => {
    const key = c.req.header(idempotencyKeyHeader);
    if (key === undefined) {
      if (!options.required) return next();
      return problem(c, problems.validation(headerError('required: a unique key per operation, reused only to retry it'), 400));
    }
    if (!keyPattern.test(key)) {
      return problem(c, problems.validation(headerError('must be 1 to 255 visible ASCII characters, without spaces'), 400));
    }
    const { db } = c.get('deps');
    const scope = idempotencyScope(c);
    const requestHash = requestHashOf(c, new Uint8Array(await c.req.arrayBuffer()));
    const deadline = performance.now() + waitMs;
    for (let attempt = 0; ; attempt += 1) {
      const claim = await claimIdempotencyKey(db, { scope, key, requestHash, ttlMs: options.ttlMs, leaseMs: options.leaseMs });
      if (claim) return execute(c, next, claim);
      // Expiry is the database's to judge (its clock, in the claim): a row the claim left alone is live.
      const stored = await readIdempotencyKey(db, scope, key);
      if (stored) {
        if (stored.requestHash !== requestHash) return reused(c, stored);
        if (stored.status === 'completed') return replay(c, stored);
        const remaining = deadline - performance.now();
        if (remaining <= 0) return inProgress(c);
        await sleep(Math.min(25 * 2 ** Math.min(attempt, 5), remaining));
      } else if (performance.now() > deadline) {
        // Released after a failure between the claim and the read: normally claimed at the next turn.
        return inProgress(c);
      }
    }
  };
}

/** Runs the request under the claim and keeps its answer, or gives the key back when it failed. */
async function execute(c: Context<AppEnv>, next: Next, claim: IdempotencyClaim): Promise<void> {
  const { db, logger, config } = c.get('deps');
  let settled = false;
  try {
    await next();
    // Hono turns a thrown error into the onError answer before this point: a throw shows as its status.
    if (c.res.status >= 500) return;
    const { status, body } = await readAnswer(c);
    const headers: Record<string, string> = {};
    for (const name of replayedHeaders) {
      const value = c.res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    try {
      const stored = await completeIdempotencyKey(db, claim, {
        status,
        headers,
        body: encryptPii(config.pii.keyring, body, bodyContext(claim.scope, claim.key)),
      });
      if (!stored) logger.warn({ requestId: c.get('requestId'), route: routeOf(c) }, 'idempotency claim lost before the answer was stored');
    } catch (error) {
      // The request has taken effect: the caller still gets its answer, and the key stays claimed (not
      // released) so that a retry within the lease is refused rather than executed a second time.
      logger.error({ requestId: c.get('requestId'), route: routeOf(c), err: { message: (error as Error).message } }, 'idempotency answer not stored');
    }
    settled = true;
  } finally {
    if (!settled) {
      await releaseIdempotencyKey(db, claim).catch((error: Error) =>
        logger.warn({ requestId: c.get('requestId'), err: { message: error.message } }, 'idempotency key not released; it frees itself when its lease runs out'),
      );
    }
  }
}

const nullBodyStatuses = new Set([204, 205, 304]);

/**
 * Reads the answer's body and puts an equal answer back in its place. Not `c.res.clone()`: the
 * Response of @hono/node-server (1.19) rebuilds itself from its constructor arguments when its body is
 * first read, dropping header changes made after construction — `problem()` sets its Content-Type that
 * way — so the headers are copied before the body is read and the answer is rebuilt from the copy.
 */
async function readAnswer(c: Context<AppEnv>): Promise<{ status: number; body: string }> {
  const status = c.res.status;
  const headers = new Headers(c.res.headers);
  const body = await c.res.text();
  // Unset first: assigning over a response merges the old one's headers into the new.
  c.res = undefined;
  c.res = new Response(nullBodyStatuses.has(status) ? null : body, { status, headers });
  return { status, body };
}

function replay(c: Context<AppEnv>, stored: IdempotencyRecord): Response {
  const { config, logger } = c.get('deps');
  let body: string;
  try {
    body = decryptPii(config.pii.keyring, stored.responseBody ?? '', bodyContext(stored.scope, stored.key));
  } catch (error) {
    if (!(error instanceof PiiError)) throw error;
    // Only if the key that encrypted it was retired within the key's 24 h, or the row was tampered with.
    logger.error({ requestId: c.get('requestId'), err: { message: error.message } }, 'idempotency answer unreadable');
    return problem(c, {
      status: 409,
      slug: 'idempotency-replay-unavailable',
      title: 'Idempotency answer unavailable',
      detail: 'A request with this Idempotency-Key has completed, but its answer can no longer be read; check whether it took effect before retrying under a new key',
      errors: headerError('its first answer cannot be replayed'),
    });
  }
  const status = stored.responseStatus as StatusCode;
  const headers = { ...(stored.responseHeaders ?? {}), [replayedHeader]: 'true' };
  if (nullBodyStatuses.has(status)) return c.body(null, status, headers);
  return c.body(body, status as ContentfulStatusCode, headers);
}

function reused(c: Context<AppEnv>, stored: IdempotencyRecord): Response {
  const first = stored.requestHash.split(' sha256:')[0]!;
  const now = `${c.req.method} ${routeOf(c)}`;
  const what = first === now ? 'with a different request body' : `for ${first}`;
  return problem(c, {
    status: 422,
    slug: 'idempotency-key-reused',
    title: 'Idempotency key reused for another request',
    detail: `This Idempotency-Key was first used ${what}; use a new key for a new operation`,
    errors: headerError(`already used ${what}`),
  });
}

function inProgress(c: Context<AppEnv>): Response {
  return problem(c, {
    status: 409,
    slug: 'idempotency-in-progress',
    title: 'Request in progress',
    detail: 'A request with this Idempotency-Key is still running; retry after the time given in Retry-After to get its answer',
    errors: headerError('a request with this key is still running'),
    headers: { 'Retry-After': '1' },
  });
}

/** The OpenAPI description of the header, for routes that use `accessIdempotent`. */
function keyParameter(required: boolean) {
  return {
    name: 'Idempotency-Key',
    in: 'header' as const,
    required,
    schema: { type: 'string' as const, minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    description:
      'A unique key per operation (a UUID, say), reused only to retry it. For 24 h the same key and request replay the first answer ' +
      '(`Idempotent-Replayed: true`) instead of running again; the same key with another request is a 422; while the first request ' +
      'is still running a duplicate waits for its answer, or gets a 409 `idempotency-in-progress` with Retry-After. A 5xx frees the key.',
  };
}

/**
 * `...access(permission)` with idempotency after the guard, in one spread:
 * `createRoute({ ..., ...accessIdempotent('account:self', { required: false }), ... })`.
 * The same as `middleware: [authorize(permission), idempotent(options)]`, plus the header in the OpenAPI document.
 */
export function accessIdempotent<P extends Permission>(permission: P, options: IdempotencyOptions) {
  const guard = access(permission);
  return { ...guard, middleware: [guard.middleware, idempotent(options)], parameters: [keyParameter(options.required)] };
}

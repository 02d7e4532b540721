/**
 * What every sandbox partner's HTTP surface does the same way, as real partners' APIs do: JSON errors
 * `{"error":{"code","message"}}`, bearer keys checked in constant time, bodies parsed without echoing them,
 * an `Idempotency-Key` on every write, and an outage switch for the tests. Each sandbox adds only its own
 * routes (server.ts of each is the guide).
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { StoredAnswer } from './idempotency';
import type { Logger } from './log';

/** A refusal the partner answers with its own status and error code (the sandboxes' error classes extend it). */
export class SandboxError extends Error {
  override name = 'SandboxError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

const digestOf = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time bearer check against any of `keys` (hashing first gives both sides the same length). */
export function bearerMatches(header: string | undefined, keys: (string | undefined)[]): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match) return false;
  const given = digestOf(match[1]!);
  let ok = false;
  // Every key is compared, even after a match, so the time taken does not say which one matched.
  for (const key of keys) if (key && timingSafeEqual(given, digestOf(key))) ok = true;
  return ok;
}

/** The body, parsed by us: JSON.parse's own error quotes the input, which may hold an address or a card number. */
export async function bodyOf<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const raw = await c.req.text();
  let value: unknown = {};
  if (raw.trim() !== '') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new SandboxError(400, 'invalid_json', 'the body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.flatMap((issue) => ('keys' in issue && Array.isArray(issue.keys) ? issue.keys : [issue.path.join('.') || 'body'])))];
    throw new SandboxError(400, 'invalid_request', `invalid or unknown fields: ${fields.join(', ')}`);
  }
  return parsed.data;
}

export function idempotencyKeyOf(c: Context): string {
  const key = c.req.header('idempotency-key');
  if (!key || key.length > 255) throw new SandboxError(400, 'idempotency_key_required', 'an Idempotency-Key header (1..255 characters) is required');
  return key;
}

/** The stored answer of an idempotent write, marked when it is a replay. */
export function reply(c: Context, result: StoredAnswer & { replayed: boolean }) {
  if (result.replayed) c.header('Idempotent-Replayed', 'true');
  return c.json(result.body as object, result.status as 200);
}

/** A Hono app with the request log, the JSON error answers and `/healthz`; the sandbox adds its routes. */
export function createSandboxHono(log: Logger): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // Method, route and status only: bodies (addresses, card data) and headers (keys) never reach the log.
    log.debug('request', { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) });
  });
  app.onError((error, c) => {
    if (error instanceof SandboxError) return c.json(errorBody(error.code, error.message), error.status as 400);
    // The name only: a message may quote what it failed on.
    log.error('unexpected error', { method: c.req.method, path: c.req.path, error: error.name });
    return c.json(errorBody('internal_error', 'unexpected error'), 500);
  });
  app.notFound((c) => c.json(errorBody('route_not_found', 'no such route'), 404));
  app.get('/healthz', (c) => c.json({ ok: true }));
  return app;
}

export interface ServerKeyOptions {
  apiKey: string;
  /** How the refusal names the key: `API key`, `secret key`. */
  keyName: string;
  /** Read on every request: tests switch outages on and off while the process runs. */
  outage: () => boolean;
  /** The body of the 503 answered during an outage. */
  unavailable: object;
  /** Routes under /v1 that check their own key (the browser's tokenisation). */
  except?: readonly string[];
}

/**
 * The server-to-server key on every /v1 route, then the outage switch. Test routes (/v1/test/…) keep
 * answering during an outage, as a partner's dashboard does, so a test can inspect and end it.
 */
export function requireServerKey({ apiKey, keyName, outage, unavailable, except = [] }: ServerKeyOptions): MiddlewareHandler {
  return async (c, next) => {
    if (except.includes(c.req.path)) return next();
    if (!bearerMatches(c.req.header('authorization'), [apiKey])) throw new SandboxError(401, 'unauthorized', `a valid ${keyName} is required`);
    if (outage() && !c.req.path.startsWith('/v1/test/')) return c.json(unavailable, 503);
    return next();
  };
}

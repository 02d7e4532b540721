/**
 * Partner webhook signatures, shared by the sandbox provider (which signs) and Comptoir's webhook routes
 * (which verify): `Comptoir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 *
 * A header may carry several `v1=` entries, one per secret the sender holds during a rotation, and the
 * receiver may hold several secrets too: any pair that matches is enough. Unknown schemes (`v0=` …) are
 * ignored, so a sender can add a new scheme before receivers understand it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'Comptoir-Signature';
export const defaultToleranceSeconds = 300;

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'expired' | 'bad_signature' };

type Body = string | Uint8Array;

function digest(secret: string, body: Body, timestamp: number): Buffer {
  // Two updates rather than a concatenated string: the raw bytes are signed as received, whatever their encoding.
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

const asList = (secret: string | readonly string[]) => (typeof secret === 'string' ? [secret] : [...secret]);

/** The header value for `body` sent at `timestamp` (unix seconds): one `v1=` entry per secret. */
export function signWebhook(secret: string | readonly string[], body: Body, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError('timestamp must be whole unix seconds');
  const secrets = asList(secret);
  if (secrets.length === 0 || secrets.some((s) => s.length === 0)) throw new RangeError('a webhook secret is needed');
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${digest(s, body, timestamp).toString('hex')}`)].join(',');
}

function parse(header: string): { timestamp: number; signatures: Buffer[] } | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 1) return undefined;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Checks `header` against `rawBody` exactly as received (before any JSON parsing). `now` is a Date or unix
 * seconds; a timestamp further than `toleranceSeconds` from it, in the past or the future, is `expired`.
 * The signature is checked first, so `expired` means "genuine but stale" (a replay) and a forgery is always
 * `bad_signature`. Comparisons are constant-time.
 */
export function verifyWebhookSignature(
  secret: string | readonly string[],
  header: string | null | undefined,
  rawBody: Body,
  now: Date | number,
  toleranceSeconds = defaultToleranceSeconds,
): SignatureCheck {
  const nowSeconds = typeof now === 'number' ? now : Math.floor(now.getTime() / 1000);
  // Date.now() passed by mistake would make every signature look 50 000 years old; say so instead.
  if (nowSeconds > 1e11) throw new RangeError('now must be a Date or unix seconds, not milliseconds');
  const secrets = asList(secret).filter((s) => s.length > 0);
  if (secrets.length === 0) throw new RangeError('a webhook secret is needed');
  if (!header || header.length > 4096) return { ok: false, reason: 'malformed' };
  const parsed = parse(header);
  if (!parsed) return { ok: false, reason: 'malformed' };
  let matched = false;
  for (const s of secrets) {
    const expected = digest(s, rawBody, parsed.timestamp);
    // Every entry is compared, matched or not, so the time taken does not tell which one matched.
    for (const candidate of parsed.signatures) if (timingSafeEqual(expected, candidate)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'bad_signature' };
  if (Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, timestamp: parsed.timestamp };
}

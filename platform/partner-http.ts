/**
 * The one HTTP call Comptoir's partner adapters make (payment provider, carrier): a POST with the partner's
 * bearer key and an idempotency key, bounded by a timeout, its failures classified for the calling
 * workflow's retry policy:
 * - no answer (network error, timeout), 5xx or 429 → the adapter's "unavailable" error: retry with the same
 *   key; the partner either never saw the call or replays its stored answer.
 * - any other 4xx → the adapter's "rejection" error with the partner's error code: retrying would not help.
 * Error messages name the operation and the status or code only — never the key, a token, an address or a body.
 */

export interface PartnerCallOptions {
  /** How error messages name the partner: `provider`, `carrier`. */
  partner: string;
  baseUrl: string;
  apiKey: string;
  /** Per call; past it the call is abandoned and reported unavailable (the idempotency key makes the retry safe). */
  timeoutMs: number;
  /** The adapter's own error classes, so workflows keep matching on them. */
  unavailable: (message: string) => Error;
  rejection: (message: string, code: string) => Error;
}

/** `call(operation, path, idempotencyKey, body)`: the parsed JSON of a 2xx answer (undefined when empty), or a classified error. */
export function partnerCaller({ partner, baseUrl, apiKey, timeoutMs, unavailable, rejection }: PartnerCallOptions) {
  const root = baseUrl.replace(/\/+$/, '');

  return async function call<T = unknown>(operation: string, path: string, idempotencyKey: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${root}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw unavailable(timedOut ? `${operation}: no answer within ${timeoutMs} ms` : `${operation}: ${partner} unreachable (${errorName(error)})`);
    }
    let parsed: unknown;
    try {
      const text = await response.text();
      parsed = text ? JSON.parse(text) : undefined;
    } catch (error) {
      // A body cut short (or a proxy's HTML page) says nothing reliable; the retry replays the stored answer.
      if (response.ok || response.status >= 500) throw unavailable(`${operation}: unreadable answer (HTTP ${response.status}, ${errorName(error)})`);
      parsed = undefined;
    }
    if (response.ok) return parsed as T;
    const code = errorCodeOf(parsed) ?? `http_${response.status}`;
    if (response.status >= 500 || response.status === 429) throw unavailable(`${operation}: ${partner} answered ${response.status} (${code})`);
    throw rejection(`${operation}: ${partner} refused with ${response.status} (${code})`, code);
  };
}

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  // undici puts the socket-level reason (ECONNREFUSED, ECONNRESET …) in `cause`.
  const cause = (error as Error & { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : error.name;
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

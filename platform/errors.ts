/**
 * Errors that say which dependency is down. The API turns them into 503 with Retry-After;
 * anything accepted before the failure is already stored, so the caller can retry safely.
 */
export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: 'postgres' | 'redis' | 'temporal' | 'search',
    cause?: unknown,
  ) {
    super(`${dependency} is unavailable`, { cause });
  }
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the error (or its cause chain) says the peer could not be reached, rather than that the request was wrong. */
export function isConnectionError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = codeOf(current);
    if (code && connectionCodes.has(code)) return true;
    if (current instanceof AggregateError && current.errors.some(isConnectionError)) return true;
    const message = current instanceof Error ? current.message : '';
    if (/Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|enableOfflineQueue/i.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

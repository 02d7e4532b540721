/**
 * One JSON line per message on stdout. Callers pass only fields they chose (ids, routes, statuses): never a
 * request body, an error message that could quote one, an address, a key or a secret — card numbers must
 * not appear here.
 */
export type LogLevel = 'debug' | 'info' | 'error' | 'silent';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, error: 30, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** `service` names the sandbox on every line (`sandbox-psp`, `sandbox-carrier`), so a shared log stays readable. */
export function createLogger(service: string, level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const at = (which: Exclude<LogLevel, 'silent'>) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (rank[which] >= rank[level]) write(JSON.stringify({ time: new Date().toISOString(), level: which, service, msg, ...fields }));
  };
  return { debug: at('debug'), info: at('info'), error: at('error') };
}

export function logLevelFrom(value: string | undefined): LogLevel {
  return value === 'debug' || value === 'info' || value === 'error' || value === 'silent' ? value : 'info';
}

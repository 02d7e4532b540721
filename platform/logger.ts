import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Anything that could carry a credential or card data is censored before a log line is written. */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.cardNumber',
  '*.cvc',
  '*.paymentToken',
  '*.refreshToken',
  '*.accessToken',
  '*.code',
  'PII_KEYS',
  'PII_LOOKUP_KEY',
  'WEBHOOK_SIGNING_SECRET',
  'pii',
  'config.PII_KEYS',
  'config.PII_LOOKUP_KEY',
  'config.WEBHOOK_SIGNING_SECRET',
  'config.pii',
];

export function createLogger(options: { level: string; name: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // Every line written inside a traced operation carries its trace id, so logs and traces join up.
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { traceId, spanId };
      },
    },
    // Asynchronous writes to stdout: a request never waits on the log pipe (pino flushes what is
    // buffered when the process exits).
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

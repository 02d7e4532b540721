import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';

export interface Temporal {
  connection: Connection;
  client: Client;
  close(): Promise<void>;
}

/** One client per process; the interceptor carries the caller's trace into every workflow it starts or signals. */
export async function connectTemporal(address: string, namespace: string): Promise<Temporal> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  const client = new Client({
    connection,
    namespace,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
  return { connection, client, close: () => connection.close() };
}

/** Resolves when a Temporal frontend answers at `address`, false when it does not within `timeoutMs`. */
export async function temporalAnswers(address: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.withDeadline(Date.now() + timeoutMs, () => connection.healthService.check({}));
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/**
 * `work` (a signal, a query …) bounded by `ms`: the gRPC call is cancelled at the deadline, and a late
 * rejection is not left unhandled. Used where a caller must answer in time, like a partner webhook route.
 */
export function withTemporalTimeout<T>(client: Client, ms: number, work: () => Promise<T>): Promise<T> {
  const call = client.withAbortSignal(AbortSignal.timeout(ms), work);
  call.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // A little later than the abort: the abort's own error says more, when it comes.
    timer = setTimeout(() => reject(new Error(`Temporal did not answer within ${ms} ms`)), ms + 250);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

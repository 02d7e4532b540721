/**
 * An open-loop load generator: request i is due at start + i / rate, whether or not earlier requests
 * have answered, so a slow server meets the same arrivals a real crowd would send instead of slowing
 * the client down with it (closed-loop tools hide latency that way: "coordinated omission").
 *
 * In-flight requests are bounded so a stalled server cannot make the client open sockets without end.
 * When the bound is reached, the next request waits for a free slot and the run records that the
 * client fell behind its schedule; requests still unsent when the window ends are dropped and counted
 * (as arrival-rate executors such as k6's do), so the run ends on time whatever the server does. Every
 * send's lateness against its due time is recorded too, so a result always says whether the offered
 * rate was really offered.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  seconds: number;
  maxInFlight: number;
  signal: AbortSignal;
  /**
   * Sends request `index` and resolves with what came back; rejects on a network error or timeout.
   * The run times it from the call to the settled promise, so it should read the whole body.
   */
  send: (index: number) => Promise<{ status: number }>;
  /** Called every `progressEverySeconds` of schedule with the counters so far. */
  onProgress?: (progress: OpenLoopProgress) => void;
  progressEverySeconds?: number;
}

export interface OpenLoopProgress {
  elapsedSeconds: number;
  sent: number;
  answered: number;
  inFlight: number;
}

export interface OpenLoopResult {
  scheduled: number;
  sent: number;
  /** Due requests never sent: the in-flight bound was still reached when the window ended. */
  dropped: number;
  /** Response times (ms, from the send to the whole body read) of every request that got an HTTP answer, sorted. */
  latencies: Float64Array;
  statuses: Map<number, number>;
  /** Network errors and timeouts by error name. */
  errors: Map<string, number>;
  /** How late each send was against its due time (ms), sorted. */
  lateness: Float64Array;
  /** Sends that had to wait for an in-flight slot. */
  blockedByBound: number;
  maxInFlightSeen: number;
  /** From the first due time to the last send. */
  sendSeconds: number;
  /** From the first due time to the last answer. */
  totalSeconds: number;
}

/**
 * Response times for percentiles that do not flatter: every request sent, those that got no answer
 * (timeout, network error) counted as +Infinity, i.e. slower than any answer.
 */
export function latenciesWithUnanswered(result: OpenLoopResult): Float64Array {
  const unanswered = [...result.errors.values()].reduce((sum, n) => sum + n, 0);
  const all = new Float64Array(result.latencies.length + unanswered);
  all.set(result.latencies);
  all.fill(Number.POSITIVE_INFINITY, result.latencies.length);
  return all;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds, maxInFlight, signal, send } = options;
  const scheduled = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const latencies: number[] = [];
  const lateness: number[] = [];
  const statuses = new Map<number, number>();
  const errors = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let blockedByBound = 0;
  let maxInFlightSeen = 0;
  let answered = 0;
  let lastAnswerAt = 0;
  let slotFreed: (() => void) | undefined;

  const progressEveryMs = (options.progressEverySeconds ?? 30) * 1000;
  let nextProgressAt = progressEveryMs;

  const start = performance.now();
  const windowEndsAt = start + seconds * 1000;
  let lastSendAt = start;
  let windowOver = false;
  for (let index = 0; index < scheduled && !windowOver; index += 1) {
    signal.throwIfAborted();
    const dueAt = start + index * intervalMs;
    const wait = dueAt - performance.now();
    // Timers fire a millisecond or so late; that lateness is measured below, not hidden.
    if (wait > 0) await delay(wait, undefined, { signal });
    if (inFlight.size >= maxInFlight) {
      blockedByBound += 1;
      while (inFlight.size >= maxInFlight) {
        const left = windowEndsAt - performance.now();
        if (left <= 0) break;
        const timer = new AbortController();
        await Promise.race([new Promise<void>((resolve) => (slotFreed = resolve)), delay(left, undefined, { signal: timer.signal }).catch(() => {})]);
        timer.abort();
        signal.throwIfAborted();
      }
      if (inFlight.size >= maxInFlight) {
        windowOver = true;
        break;
      }
    }
    const sentAt = performance.now();
    lastSendAt = sentAt;
    lateness.push(sentAt - dueAt);
    const request = send(index).then(
      ({ status }) => {
        const now = performance.now();
        latencies.push(now - sentAt);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      },
      (error: unknown) => {
        const name = error instanceof Error ? (error.name === 'Error' ? error.message.slice(0, 60) : error.name) : 'error';
        errors.set(name, (errors.get(name) ?? 0) + 1);
      },
    );
    const tracked: Promise<void> = request.finally(() => {
      answered += 1;
      lastAnswerAt = performance.now();
      inFlight.delete(tracked);
      slotFreed?.();
      slotFreed = undefined;
    });
    inFlight.add(tracked);
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight.size);
    if (options.onProgress && sentAt - start >= nextProgressAt) {
      options.onProgress({ elapsedSeconds: Math.round((sentAt - start) / 1000), sent: index + 1, answered, inFlight: inFlight.size });
      nextProgressAt += progressEveryMs;
    }
  }
  await Promise.all(inFlight);
  return {
    scheduled,
    sent: lateness.length,
    dropped: scheduled - lateness.length,
    latencies: Float64Array.from(latencies).sort(),
    statuses,
    errors,
    lateness: Float64Array.from(lateness).sort(),
    blockedByBound,
    maxInFlightSeen,
    sendSeconds: (lastSendAt - start) / 1000,
    totalSeconds: (Math.max(lastAnswerAt, lastSendAt) - start) / 1000,
  };
}

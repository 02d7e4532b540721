/**
 * A partner's own idempotency keys, as real providers and carriers keep them: the first request with a key
 * decides the answer, and the same key with the same route and parameters gets that answer again (marked
 * `Idempotent-Replayed: true`); with other parameters, or on another route, it is refused with 422
 * `idempotency_key_reused`. A request arriving while the first is still running waits for it.
 *
 * 5xx answers are not kept: the partner failed before deciding anything, so a retry with the same key
 * really tries again (that is what the payment sandbox's flaky and timeout cards rely on). Keys are kept
 * 24 hours, in memory.
 */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

interface Entry {
  fingerprint: string;
  answer: Promise<StoredAnswer>;
  expiresAt: number;
}

const retentionMs = 24 * 60 * 60 * 1000;

/** Key order does not change meaning: `{a, b}` and `{b, a}` are the same parameters. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export class IdempotencyKeys {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  async run(key: string, route: string, params: unknown, execute: () => Promise<StoredAnswer>): Promise<StoredAnswer & { replayed: boolean }> {
    this.forgetExpired();
    const fingerprint = `${route} ${canonicalJson(params)}`;
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        return {
          status: 422,
          body: { error: { code: 'idempotency_key_reused', message: 'this Idempotency-Key was used with other parameters' } },
          replayed: false,
        };
      }
      const first = await existing.answer;
      return { ...first, replayed: first.status < 500 };
    }
    const answer = execute().then(
      (result) => {
        if (result.status >= 500) this.entries.delete(key);
        return result;
      },
      (error: unknown) => {
        this.entries.delete(key);
        throw error;
      },
    );
    this.entries.set(key, { fingerprint, answer, expiresAt: Date.now() + retentionMs });
    return { ...(await answer), replayed: false };
  }

  private forgetExpired() {
    const now = Date.now();
    // Map order is insertion order, so the oldest come first.
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}

/**
 * The sandbox's behaviour knobs: read from SANDBOX_PSP_* at start-up, changed at run time by tests through
 * `POST /v1/test/settings` (alias `POST /v1/test/chaos`). Secrets are set at start-up only and never shown.
 */
import { z } from 'zod';

const delay = z.number().int().min(0).max(3_600_000);

/** What a test may change while the process runs; every field optional. */
export const settingsPatch = z
  .object({
    /** Where webhooks go; null stops delivery (events are still recorded). */
    webhookUrl: z.url().nullable(),
    /** Probability (0..1) that an event is delivered a second time, as a separate delivery with the same event id. */
    duplicateRate: z.number().min(0).max(1),
    /**
     * Out-of-order delivery: each event of a payment is held until the next event of the same payment arrives,
     * and the two go out newest first; an event with no successor goes out after `reorderWindowMs`.
     */
    reorder: z.boolean(),
    reorderWindowMs: delay,
    /** Wait before the first delivery attempt of every event. */
    delayMs: delay,
    /** Retries on a non-2xx answer or a network error: base × 2^(attempt-1), capped at a minute. */
    webhookRetryBaseMs: delay,
    webhookMaxAttempts: z.number().int().min(1).max(100),
    /** When a 3-D Secure payment confirms by itself (outcome: succeed); null = only when told (test route or the action page). */
    threeDSecureDelayMs: delay.nullable(),
    /** The timeout card: `hang` holds the request `hangMs` then answers 503; `unavailable` answers 503 at once. */
    timeoutCard: z.enum(['hang', 'unavailable']),
    hangMs: delay,
    /** How many attempts of each idempotency key the flaky card answers with 503 before it authorises. */
    flakyFailures: z.number().int().min(0).max(100),
    /** Every provider route (not /v1/test) answers 503: an outage. */
    outage: z.boolean(),
  })
  .partial()
  .strict();

export type SandboxSettings = Required<z.infer<typeof settingsPatch>>;

export interface SandboxSecrets {
  /** Bearer key of every server-side route. */
  apiKey: string;
  /** Bearer key of tokenisation (the browser's); when absent tokenisation needs no key. */
  publishableKey?: string;
  /** Webhook signing secrets: the first signs, every one adds a `v1=` entry (rotation). */
  webhookSecrets: string[];
}

export class SandboxConfigError extends Error {
  override name = 'SandboxConfigError';
}

const numberFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));

export function settingsFromEnv(env: NodeJS.ProcessEnv): { settings: SandboxSettings; secrets: SandboxSecrets } {
  const apiKey = env.SANDBOX_PSP_API_KEY;
  if (!apiKey) throw new SandboxConfigError('SANDBOX_PSP_API_KEY is required (the bearer key Comptoir uses)');
  const webhookSecrets = (env.SANDBOX_PSP_WEBHOOK_SECRET ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (webhookSecrets.length === 0) throw new SandboxConfigError('SANDBOX_PSP_WEBHOOK_SECRET is required (comma-separated for rotation)');
  const threeDs = env.SANDBOX_PSP_3DS_DELAY_MS;
  const parsed = settingsPatch.safeParse({
    webhookUrl: env.SANDBOX_PSP_WEBHOOK_URL || null,
    duplicateRate: numberFrom(env.SANDBOX_PSP_WEBHOOK_DUPLICATE_RATE),
    reorder: env.SANDBOX_PSP_WEBHOOK_REORDER === undefined ? undefined : ['1', 'true', 'yes'].includes(env.SANDBOX_PSP_WEBHOOK_REORDER),
    reorderWindowMs: numberFrom(env.SANDBOX_PSP_WEBHOOK_REORDER_WINDOW_MS),
    delayMs: numberFrom(env.SANDBOX_PSP_WEBHOOK_DELAY_MS),
    webhookRetryBaseMs: numberFrom(env.SANDBOX_PSP_WEBHOOK_RETRY_BASE_MS),
    webhookMaxAttempts: numberFrom(env.SANDBOX_PSP_WEBHOOK_MAX_ATTEMPTS),
    threeDSecureDelayMs: threeDs === 'never' ? null : numberFrom(threeDs),
    timeoutCard: env.SANDBOX_PSP_TIMEOUT_CARD || undefined,
    hangMs: numberFrom(env.SANDBOX_PSP_HANG_MS),
    flakyFailures: numberFrom(env.SANDBOX_PSP_FLAKY_FAILURES),
  });
  if (!parsed.success) {
    throw new SandboxConfigError(`invalid SANDBOX_PSP_* setting: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const defaults: SandboxSettings = {
    webhookUrl: null,
    duplicateRate: 0,
    reorder: false,
    reorderWindowMs: 1_000,
    delayMs: 0,
    webhookRetryBaseMs: 1_000,
    webhookMaxAttempts: 10,
    threeDSecureDelayMs: 2_000,
    timeoutCard: 'hang',
    hangMs: 30_000,
    flakyFailures: 2,
    outage: false,
  };
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return {
    settings: { ...defaults, ...given },
    secrets: { apiKey, publishableKey: env.SANDBOX_PSP_PUBLISHABLE_KEY || undefined, webhookSecrets },
  };
}

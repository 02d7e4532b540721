/**
 * The sandbox carrier's behaviour knobs: read from SANDBOX_CARRIER_* at start-up, changed at run time by
 * tests through `POST /v1/test/settings`. Secrets are set at start-up only and never shown.
 */
import { z } from 'zod';

const delay = z.number().int().min(0).max(7 * 24 * 3_600_000);

export const settingsPatch = z
  .object({
    /** Where tracking webhooks go; null stops delivery (events are still recorded). */
    webhookUrl: z.url().nullable(),
    /**
     * Parcels move by themselves: picked up `pickupDelayMs` after booking, then one step every
     * `stepDelayMs`. Off, a parcel moves only when a test route says so.
     */
    autoAdvance: z.boolean(),
    pickupDelayMs: delay,
    stepDelayMs: delay,
    /** Probability (0..1) that a parcel with no test marker ends in transit with an exception. */
    exceptionRate: z.number().min(0).max(1),
    /** Probability (0..1) that an event is delivered a second time, as a separate delivery with the same event id. */
    duplicateRate: z.number().min(0).max(1),
    /**
     * Out-of-order delivery: each event of a parcel is held until the parcel's next event, and the two go
     * out newest first; an event with no successor goes out after `reorderWindowMs`.
     */
    reorder: z.boolean(),
    reorderWindowMs: delay,
    /** Wait before the first delivery attempt of every event. */
    delayMs: delay,
    /** Retries on a non-2xx answer or a network error: base × 2^(attempt-1), capped at a minute. */
    webhookRetryBaseMs: delay,
    webhookMaxAttempts: z.number().int().min(1).max(100),
    /** Every booking route answers 503: an outage. */
    outage: z.boolean(),
  })
  .partial()
  .strict();

export type CarrierSettings = Required<z.infer<typeof settingsPatch>>;

export interface CarrierSecrets {
  /** Bearer key of every /v1 route. */
  apiKey: string;
  /** Webhook signing secrets: the first signs, every one adds a `v1=` entry (rotation). */
  webhookSecrets: string[];
}

export class SandboxConfigError extends Error {
  override name = 'SandboxConfigError';
}

const numberFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
const booleanFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : ['1', 'true', 'yes'].includes(value));

/** Compressed time for a demo: a parcel is picked up after 30 s and delivered a minute later. */
export const defaultCarrierSettings: CarrierSettings = {
  webhookUrl: null,
  autoAdvance: true,
  pickupDelayMs: 30_000,
  stepDelayMs: 20_000,
  exceptionRate: 0,
  duplicateRate: 0,
  reorder: false,
  reorderWindowMs: 1_000,
  delayMs: 0,
  webhookRetryBaseMs: 1_000,
  webhookMaxAttempts: 10,
  outage: false,
};

export function settingsFromEnv(env: NodeJS.ProcessEnv): { settings: CarrierSettings; secrets: CarrierSecrets } {
  const apiKey = env.SANDBOX_CARRIER_API_KEY;
  if (!apiKey) throw new SandboxConfigError('SANDBOX_CARRIER_API_KEY is required (the bearer key Comptoir uses)');
  const webhookSecrets = (env.SANDBOX_CARRIER_WEBHOOK_SECRET ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (webhookSecrets.length === 0) throw new SandboxConfigError('SANDBOX_CARRIER_WEBHOOK_SECRET is required (comma-separated for rotation)');
  const parsed = settingsPatch.safeParse({
    webhookUrl: env.SANDBOX_CARRIER_WEBHOOK_URL || null,
    autoAdvance: booleanFrom(env.SANDBOX_CARRIER_AUTO_ADVANCE),
    pickupDelayMs: numberFrom(env.SANDBOX_CARRIER_PICKUP_DELAY_MS),
    stepDelayMs: numberFrom(env.SANDBOX_CARRIER_STEP_DELAY_MS),
    exceptionRate: numberFrom(env.SANDBOX_CARRIER_EXCEPTION_RATE),
    duplicateRate: numberFrom(env.SANDBOX_CARRIER_WEBHOOK_DUPLICATE_RATE),
    reorder: booleanFrom(env.SANDBOX_CARRIER_WEBHOOK_REORDER),
    reorderWindowMs: numberFrom(env.SANDBOX_CARRIER_WEBHOOK_REORDER_WINDOW_MS),
    delayMs: numberFrom(env.SANDBOX_CARRIER_WEBHOOK_DELAY_MS),
    webhookRetryBaseMs: numberFrom(env.SANDBOX_CARRIER_WEBHOOK_RETRY_BASE_MS),
    webhookMaxAttempts: numberFrom(env.SANDBOX_CARRIER_WEBHOOK_MAX_ATTEMPTS),
  });
  if (!parsed.success) {
    throw new SandboxConfigError(`invalid SANDBOX_CARRIER_* setting: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return { settings: { ...defaultCarrierSettings, ...given }, secrets: { apiKey, webhookSecrets } };
}

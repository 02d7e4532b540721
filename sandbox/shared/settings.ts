/**
 * What every sandbox partner reads from its `<PREFIX>_*` variables the same way: its API key, its webhook
 * signing secrets and the webhook delivery knobs (shared/webhook-sender.ts reads them). Each sandbox's
 * settings.ts adds its own knobs and defaults.
 */
import { z } from 'zod';

/** A missing or invalid start-up variable: the process says which and exits with 2, no stack trace. */
export class SandboxConfigError extends Error {
  override name = 'SandboxConfigError';
}

export const numberFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
export const booleanFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : ['1', 'true', 'yes'].includes(value));

/** The webhook delivery knobs, for a sandbox's settings schema; `delay` bounds every wait. */
export const webhookDeliveryFields = (delay: z.ZodNumber) => ({
  /** Where webhooks go; null stops delivery (events are still recorded). */
  webhookUrl: z.url().nullable(),
  /** Probability (0..1) that an event is delivered a second time, as a separate delivery with the same event id. */
  duplicateRate: z.number().min(0).max(1),
  /**
   * Out-of-order delivery: each event of a subject (a payment, a parcel) is held until the subject's next
   * event, and the two go out newest first; an event with no successor goes out after `reorderWindowMs`.
   */
  reorder: z.boolean(),
  reorderWindowMs: delay,
  /** Wait before the first delivery attempt of every event. */
  delayMs: delay,
  /** Retries on a non-2xx answer or a network error: base × 2^(attempt-1), capped at a minute. */
  webhookRetryBaseMs: delay,
  webhookMaxAttempts: z.number().int().min(1).max(100),
});

export type WebhookDeliverySettings = z.infer<z.ZodObject<ReturnType<typeof webhookDeliveryFields>>>;

/** No endpoint and no chaos: every event once, at once; up to 10 attempts, the first retry after 1 s (about 4 minutes in all). */
export const defaultWebhookDelivery: WebhookDeliverySettings = {
  webhookUrl: null,
  duplicateRate: 0,
  reorder: false,
  reorderWindowMs: 1_000,
  delayMs: 0,
  webhookRetryBaseMs: 1_000,
  webhookMaxAttempts: 10,
};

/** `<PREFIX>_WEBHOOK_*` as given (undefined when not set), for the settings schema to check. */
export function webhookDeliveryFromEnv(env: NodeJS.ProcessEnv, prefix: string) {
  const variable = (name: string) => env[`${prefix}_WEBHOOK_${name}`];
  return {
    webhookUrl: variable('URL') || null,
    duplicateRate: numberFrom(variable('DUPLICATE_RATE')),
    reorder: booleanFrom(variable('REORDER')),
    reorderWindowMs: numberFrom(variable('REORDER_WINDOW_MS')),
    delayMs: numberFrom(variable('DELAY_MS')),
    webhookRetryBaseMs: numberFrom(variable('RETRY_BASE_MS')),
    webhookMaxAttempts: numberFrom(variable('MAX_ATTEMPTS')),
  };
}

export interface PartnerSecrets {
  /** Bearer key of every server-side route. */
  apiKey: string;
  /** Webhook signing secrets: the first signs, every one adds a `v1=` entry (rotation). */
  webhookSecrets: string[];
}

/** `<PREFIX>_API_KEY` and `<PREFIX>_WEBHOOK_SECRET` (comma-separated), both required. */
export function partnerSecretsFromEnv(env: NodeJS.ProcessEnv, prefix: string): PartnerSecrets {
  const apiKey = env[`${prefix}_API_KEY`];
  if (!apiKey) throw new SandboxConfigError(`${prefix}_API_KEY is required (the bearer key Comptoir uses)`);
  const webhookSecrets = (env[`${prefix}_WEBHOOK_SECRET`] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (webhookSecrets.length === 0) throw new SandboxConfigError(`${prefix}_WEBHOOK_SECRET is required (comma-separated for rotation)`);
  return { apiKey, webhookSecrets };
}

/** The settings schema's refusal, naming each bad variable's field. */
export function invalidSettings(prefix: string, error: z.ZodError): SandboxConfigError {
  return new SandboxConfigError(`invalid ${prefix}_* setting: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

/**
 * The sandbox's behaviour knobs: read from SANDBOX_PSP_* at start-up, changed at run time by tests through
 * `POST /v1/test/settings` (alias `POST /v1/test/chaos`). Secrets are set at start-up only and never shown.
 */
import { z } from 'zod';
import { defaultWebhookDelivery, invalidSettings, numberFrom, partnerSecretsFromEnv, webhookDeliveryFields, webhookDeliveryFromEnv, type PartnerSecrets } from '../shared/settings';

const delay = z.number().int().min(0).max(3_600_000);

/** What a test may change while the process runs; every field optional. */
export const settingsPatch = z
  .object({
    /** Payment webhooks: where they go, and the chaos of their delivery (shared/settings.ts). */
    ...webhookDeliveryFields(delay),
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

export interface SandboxSecrets extends PartnerSecrets {
  /** Bearer key of tokenisation (the browser's); when absent tokenisation needs no key. */
  publishableKey?: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): { settings: SandboxSettings; secrets: SandboxSecrets } {
  const secrets = partnerSecretsFromEnv(env, 'SANDBOX_PSP');
  const threeDs = env.SANDBOX_PSP_3DS_DELAY_MS;
  const parsed = settingsPatch.safeParse({
    ...webhookDeliveryFromEnv(env, 'SANDBOX_PSP'),
    threeDSecureDelayMs: threeDs === 'never' ? null : numberFrom(threeDs),
    timeoutCard: env.SANDBOX_PSP_TIMEOUT_CARD || undefined,
    hangMs: numberFrom(env.SANDBOX_PSP_HANG_MS),
    flakyFailures: numberFrom(env.SANDBOX_PSP_FLAKY_FAILURES),
  });
  if (!parsed.success) throw invalidSettings('SANDBOX_PSP', parsed.error);
  const defaults: SandboxSettings = {
    ...defaultWebhookDelivery,
    threeDSecureDelayMs: 2_000,
    timeoutCard: 'hang',
    hangMs: 30_000,
    flakyFailures: 2,
    outage: false,
  };
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return {
    settings: { ...defaults, ...given },
    secrets: { ...secrets, publishableKey: env.SANDBOX_PSP_PUBLISHABLE_KEY || undefined },
  };
}

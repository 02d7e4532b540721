/**
 * The sandbox carrier's behaviour knobs: read from SANDBOX_CARRIER_* at start-up, changed at run time by
 * tests through `POST /v1/test/settings`. Secrets are set at start-up only and never shown.
 */
import { z } from 'zod';
import { booleanFrom, defaultWebhookDelivery, invalidSettings, numberFrom, partnerSecretsFromEnv, webhookDeliveryFields, webhookDeliveryFromEnv, type PartnerSecrets } from '../shared/settings';

const delay = z.number().int().min(0).max(7 * 24 * 3_600_000);

export const settingsPatch = z
  .object({
    /** Tracking webhooks: where they go, and the chaos of their delivery (shared/settings.ts). */
    ...webhookDeliveryFields(delay),
    /**
     * Parcels move by themselves: picked up `pickupDelayMs` after booking, then one step every
     * `stepDelayMs`. Off, a parcel moves only when a test route says so.
     */
    autoAdvance: z.boolean(),
    pickupDelayMs: delay,
    stepDelayMs: delay,
    /** Probability (0..1) that a parcel with no test marker ends in transit with an exception. */
    exceptionRate: z.number().min(0).max(1),
    /** Every booking route answers 503: an outage. */
    outage: z.boolean(),
  })
  .partial()
  .strict();

export type CarrierSettings = Required<z.infer<typeof settingsPatch>>;

/** `apiKey` is the bearer key of every /v1 route. */
export type CarrierSecrets = PartnerSecrets;

/** Compressed time for a demo: a parcel is picked up after 30 s and delivered a minute later. */
export const defaultCarrierSettings: CarrierSettings = {
  ...defaultWebhookDelivery,
  autoAdvance: true,
  pickupDelayMs: 30_000,
  stepDelayMs: 20_000,
  exceptionRate: 0,
  outage: false,
};

export function settingsFromEnv(env: NodeJS.ProcessEnv): { settings: CarrierSettings; secrets: CarrierSecrets } {
  const secrets = partnerSecretsFromEnv(env, 'SANDBOX_CARRIER');
  const parsed = settingsPatch.safeParse({
    ...webhookDeliveryFromEnv(env, 'SANDBOX_CARRIER'),
    autoAdvance: booleanFrom(env.SANDBOX_CARRIER_AUTO_ADVANCE),
    pickupDelayMs: numberFrom(env.SANDBOX_CARRIER_PICKUP_DELAY_MS),
    stepDelayMs: numberFrom(env.SANDBOX_CARRIER_STEP_DELAY_MS),
    exceptionRate: numberFrom(env.SANDBOX_CARRIER_EXCEPTION_RATE),
  });
  if (!parsed.success) throw invalidSettings('SANDBOX_CARRIER', parsed.error);
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return { settings: { ...defaultCarrierSettings, ...given }, secrets };
}

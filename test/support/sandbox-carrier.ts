/**
 * The sandbox carrier as tests meet it: the real process (`sandbox/carrier/server.ts`) on a port it picks
 * itself, with its own key, plus helpers for what a test does at a carrier's test account (move a parcel,
 * emit any event, redeliver one, change the chaos knobs, inspect parcels).
 *
 * By default parcels move by themselves with short delays (300 ms to pick-up, 300 ms a step); pass
 * `autoAdvance: false` to move them only with `advance()` / `emit()`.
 */
import { fileURLToPath } from 'node:url';
import type { CarrierTrackingEvent, TrackingEventType } from '../../fulfilment/carrier';
import type { CarrierSettings } from '../../sandbox/carrier/settings';
import { okJson as ok, startSandboxProcess, type SandboxProcess, type SandboxStartOptions } from './sandbox-process';

export { carrierTestMarkers } from '../../sandbox/carrier/parcels';

const serverPath = fileURLToPath(new URL('../../sandbox/carrier/server.ts', import.meta.url));

export interface StartSandboxCarrierOptions extends SandboxStartOptions {
  /** Default true (with the short delays below). */
  autoAdvance?: boolean;
  /** Default 300 ms. */
  pickupDelayMs?: number;
  /** Default 300 ms. */
  stepDelayMs?: number;
  /** Default 200 ms between webhook retries (base of the backoff). */
  webhookRetryBaseMs?: number;
}

export type SandboxParcel = {
  id: string;
  kind: 'outbound' | 'return';
  reference: string;
  orderId: string;
  trackingNumber: string;
  labelUrl: string;
  status: 'booked' | TrackingEventType;
  lines: { sku: string; quantity: number }[];
  scenario: 'normal' | 'exception' | 'no_pickup';
  nextStep: TrackingEventType | null;
  events: CarrierTrackingEvent[];
  deliveries: { eventId: string; type: string; copy: number; attempt: number; outcome: number | string; delivered: boolean }[];
};

export interface SandboxCarrier extends SandboxProcess {
  settings(patch: Partial<CarrierSettings>): Promise<CarrierSettings>;
  parcel(id: string): Promise<SandboxParcel>;
  parcelsOf(orderId: string): Promise<SandboxParcel[]>;
  parcelByReference(reference: string): Promise<SandboxParcel | undefined>;
  /** The next step of the parcel's scenario, now. */
  advance(id: string): Promise<CarrierTrackingEvent>;
  /** Any event for the parcel, now. */
  emit(id: string, type: TrackingEventType, options?: { detail?: string; occurredAt?: string }): Promise<CarrierTrackingEvent>;
  /** Delivers a recorded event once more (a duplicate with the same event id). */
  redeliver(eventId: string): Promise<void>;
}

export async function startSandboxCarrier(options: StartSandboxCarrierOptions = {}): Promise<SandboxCarrier> {
  const sandbox = await startSandboxProcess({ name: 'the sandbox carrier', serverPath, envPrefix: 'SANDBOX_CARRIER', keyPrefix: 'ck_test' }, options, {
    SANDBOX_CARRIER_AUTO_ADVANCE: String(options.autoAdvance ?? true),
    SANDBOX_CARRIER_PICKUP_DELAY_MS: String(options.pickupDelayMs ?? 300),
    SANDBOX_CARRIER_STEP_DELAY_MS: String(options.stepDelayMs ?? 300),
    SANDBOX_CARRIER_WEBHOOK_RETRY_BASE_MS: String(options.webhookRetryBaseMs ?? 200),
  });
  const { request } = sandbox;

  return {
    ...sandbox,
    settings: async (patch) => ok(await request('/v1/test/settings', { body: patch }), 'settings'),
    parcel: async (id) => ok(await request(`/v1/test/shipments/${id}`), 'parcel'),
    parcelsOf: async (orderId) => (await ok<{ data: SandboxParcel[] }>(await request(`/v1/test/shipments?orderId=${encodeURIComponent(orderId)}`), 'parcels')).data,
    parcelByReference: async (reference) =>
      (await ok<{ data: SandboxParcel[] }>(await request(`/v1/test/shipments?reference=${encodeURIComponent(reference)}`), 'parcels')).data[0],
    advance: async (id) => (await ok<{ event: CarrierTrackingEvent }>(await request(`/v1/test/shipments/${id}/advance`, { method: 'POST' }), 'advance')).event,
    emit: async (id, type, extra = {}) => (await ok<{ event: CarrierTrackingEvent }>(await request(`/v1/test/shipments/${id}/events`, { body: { type, ...extra } }), 'emit')).event,
    redeliver: async (eventId) => {
      await ok(await request(`/v1/test/events/${eventId}/redeliver`, { method: 'POST' }), 'redeliver');
    },
  };
}

/**
 * The sandbox carrier as tests meet it: the real process (`sandbox/carrier/server.ts`) on a port it picks
 * itself, with its own key, plus helpers for what a test does at a carrier's test account (move a parcel,
 * emit any event, redeliver one, change the chaos knobs, inspect parcels).
 *
 * By default parcels move by themselves with short delays (300 ms to pick-up, 300 ms a step); pass
 * `autoAdvance: false` to move them only with `advance()` / `emit()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CarrierTrackingEvent, TrackingEventType } from '../../fulfilment/carrier';
import type { CarrierSettings } from '../../sandbox/carrier/settings';

export { carrierTestMarkers } from '../../sandbox/carrier/parcels';

const serverPath = fileURLToPath(new URL('../../sandbox/carrier/server.ts', import.meta.url));

export interface StartSandboxCarrierOptions {
  apiKey?: string;
  /** Several = rotation: each signs a `v1=` entry. */
  webhookSecret?: string | string[];
  webhookUrl?: string;
  /** Default true (with the short delays below). */
  autoAdvance?: boolean;
  /** Default 300 ms. */
  pickupDelayMs?: number;
  /** Default 300 ms. */
  stepDelayMs?: number;
  /** Default 200 ms between webhook retries (base of the backoff). */
  webhookRetryBaseMs?: number;
  /** Any other SANDBOX_CARRIER_* variable. */
  env?: Record<string, string>;
  log?: 'debug' | 'info' | 'error' | 'silent';
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

export interface SandboxCarrier {
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
  webhookSecrets: string[];
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** A request with the API key (and JSON body, if given). */
  request(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
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
  stop(): Promise<void>;
}

const secret = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

export async function startSandboxCarrier(options: StartSandboxCarrierOptions = {}): Promise<SandboxCarrier> {
  const apiKey = options.apiKey ?? secret('ck_test');
  const webhookSecrets = [options.webhookSecret ?? secret('whsec')].flat();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SANDBOX_CARRIER_PORT: '0',
    SANDBOX_CARRIER_HOST: '127.0.0.1',
    SANDBOX_CARRIER_API_KEY: apiKey,
    SANDBOX_CARRIER_WEBHOOK_SECRET: webhookSecrets.join(','),
    SANDBOX_CARRIER_AUTO_ADVANCE: String(options.autoAdvance ?? true),
    SANDBOX_CARRIER_PICKUP_DELAY_MS: String(options.pickupDelayMs ?? 300),
    SANDBOX_CARRIER_STEP_DELAY_MS: String(options.stepDelayMs ?? 300),
    SANDBOX_CARRIER_WEBHOOK_RETRY_BASE_MS: String(options.webhookRetryBaseMs ?? 200),
    SANDBOX_CARRIER_LOG: options.log ?? 'info',
    ...(options.webhookUrl ? { SANDBOX_CARRIER_WEBHOOK_URL: options.webhookUrl } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not leave a carrier behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox carrier did not start within 30 s:\n${output}`)), 30_000);
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{"listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox carrier exited with ${code} before listening:\n${output}`));
    });
  });

  const request: SandboxCarrier['request'] = (path, init = {}) =>
    fetch(`${baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  async function ok<T>(response: Response, what: string): Promise<T> {
    const text = await response.text();
    if (!response.ok) throw new Error(`${what}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  return {
    baseUrl,
    apiKey,
    webhookSecret: webhookSecrets[0]!,
    webhookSecrets,
    process: child,
    output: () => output,
    request,
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
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

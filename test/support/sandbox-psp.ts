/**
 * The sandbox payment provider as tests meet it: the real process (`sandbox/payment-provider/server.ts`)
 * on a port it picks itself, with its own keys, plus a few helpers for what a test does at a provider's
 * dashboard (tokenise a test card, change the chaos knobs, inspect a payment, confirm 3-D Secure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SandboxSettings } from '../../sandbox/payment-provider/settings';
import type { PaymentWebhookEvent } from '../../payments/provider';

export { testCards } from '../../sandbox/payment-provider/cards';

const serverPath = fileURLToPath(new URL('../../sandbox/payment-provider/server.ts', import.meta.url));

export interface StartSandboxOptions {
  apiKey?: string;
  /** Several = rotation: each signs a `v1=` entry. */
  webhookSecret?: string | string[];
  webhookUrl?: string;
  publishableKey?: string;
  /**
   * When 3-D Secure payments confirm by themselves. Default null: only when the test says so
   * (`confirm()`), so a test decides the order of things. The process's own default is 2 s.
   */
  threeDSecureDelayMs?: number | null;
  /** Any other SANDBOX_PSP_* variable. */
  env?: Record<string, string>;
  log?: 'debug' | 'info' | 'error' | 'silent';
}

export type SandboxPayment = {
  id: string;
  status: 'requires_action' | 'authorised' | 'declined' | 'captured' | 'voided';
  amount: number;
  currency: string;
  orderId: string;
  action_url?: string;
  reason?: string;
  capturedAmount: number;
  refundedAmount: number;
  captureCount: number;
  captures: { id: string; amount: number }[];
  refunds: { id: string; amount: number }[];
  events: PaymentWebhookEvent[];
  deliveries: { eventId: string; type: string; copy: number; attempt: number; outcome: number | string; delivered: boolean }[];
};

export interface SandboxProvider {
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
  webhookSecrets: string[];
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** A request with the secret key (and JSON body, if given). */
  request(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  tokenise(number: string, card?: { expMonth?: number; expYear?: number; cvc?: string }): Promise<string>;
  settings(patch: Partial<SandboxSettings>): Promise<SandboxSettings>;
  payment(id: string): Promise<SandboxPayment>;
  paymentsOf(orderId: string): Promise<SandboxPayment[]>;
  confirm(id: string, outcome: 'succeed' | 'fail'): Promise<SandboxPayment>;
  stop(): Promise<void>;
}

const secret = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

export async function startSandboxProvider(options: StartSandboxOptions = {}): Promise<SandboxProvider> {
  const apiKey = options.apiKey ?? secret('sk_test');
  const webhookSecrets = [options.webhookSecret ?? secret('whsec')].flat();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SANDBOX_PSP_PORT: '0',
    SANDBOX_PSP_HOST: '127.0.0.1',
    SANDBOX_PSP_API_KEY: apiKey,
    SANDBOX_PSP_WEBHOOK_SECRET: webhookSecrets.join(','),
    SANDBOX_PSP_3DS_DELAY_MS: options.threeDSecureDelayMs == null ? 'never' : String(options.threeDSecureDelayMs),
    SANDBOX_PSP_LOG: options.log ?? 'info',
    ...(options.webhookUrl ? { SANDBOX_PSP_WEBHOOK_URL: options.webhookUrl } : {}),
    ...(options.publishableKey ? { SANDBOX_PSP_PUBLISHABLE_KEY: options.publishableKey } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not leave a provider behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox provider did not start within 30 s:\n${output}`)), 30_000);
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{"listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox provider exited with ${code} before listening:\n${output}`));
    });
  });

  const request: SandboxProvider['request'] = (path, init = {}) =>
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
    async tokenise(number, card = {}) {
      const response = await fetch(`${baseUrl}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.publishableKey ? { authorization: `Bearer ${options.publishableKey}` } : {}) },
        body: JSON.stringify({ number, expMonth: card.expMonth ?? 12, expYear: card.expYear ?? new Date().getUTCFullYear() + 3, cvc: card.cvc ?? '123' }),
      });
      return (await ok<{ token: string }>(response, 'tokenise')).token;
    },
    settings: async (patch) => ok(await request('/v1/test/settings', { body: patch }), 'settings'),
    payment: async (id) => ok(await request(`/v1/test/payments/${id}`), 'payment'),
    paymentsOf: async (orderId) => (await ok<{ data: SandboxPayment[] }>(await request(`/v1/test/payments?orderId=${encodeURIComponent(orderId)}`), 'payments')).data,
    confirm: async (id, outcome) => ok(await request(`/v1/test/payments/${id}/confirm`, { body: { outcome } }), 'confirm'),
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

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: PaymentWebhookEvent;
  status: number;
}

/**
 * A partner's webhook endpoint in miniature: records every delivery as received (raw body and signature
 * header) and answers what the test decides.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  /** Decides the HTTP status of each delivery; 204 unless a test says otherwise. */
  let respond: (event: PaymentWebhookEvent, previousDeliveries: ReceivedWebhook[]) => number = () => 204;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(rawBody) as PaymentWebhookEvent;
      const status = respond(event, received.filter((r) => r.event.id === event.id));
      received.push({ headers: request.headers, rawBody, event, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/payments`,
    received,
    of: (providerPaymentId: string) => received.filter((r) => r.event.data.providerPaymentId === providerPaymentId),
    answerWith(decide: typeof respond) {
      respond = decide;
    },
    reset() {
      respond = () => 204;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

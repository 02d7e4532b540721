/**
 * The sandbox payment provider as tests meet it: the real process (`sandbox/payment-provider/server.ts`)
 * on a port it picks itself, with its own keys, plus a few helpers for what a test does at a provider's
 * dashboard (tokenise a test card, change the chaos knobs, inspect a payment, confirm 3-D Secure).
 */
import { fileURLToPath } from 'node:url';
import type { SandboxSettings } from '../../sandbox/payment-provider/settings';
import type { PaymentWebhookEvent } from '../../payments/provider';
import { okJson as ok, startSandboxProcess, type SandboxProcess, type SandboxStartOptions } from './sandbox-process';
import { startWebhookReceiver as startPartnerWebhookReceiver, type ReceivedWebhook as ReceivedPartnerWebhook } from './webhook-receiver';

export { testCards } from '../../sandbox/payment-provider/cards';

const serverPath = fileURLToPath(new URL('../../sandbox/payment-provider/server.ts', import.meta.url));

export interface StartSandboxOptions extends SandboxStartOptions {
  publishableKey?: string;
  /**
   * When 3-D Secure payments confirm by themselves. Default null: only when the test says so
   * (`confirm()`), so a test decides the order of things. The process's own default is 2 s.
   */
  threeDSecureDelayMs?: number | null;
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

/** `request()` sends the secret key. */
export interface SandboxProvider extends SandboxProcess {
  tokenise(number: string, card?: { expMonth?: number; expYear?: number; cvc?: string }): Promise<string>;
  settings(patch: Partial<SandboxSettings>): Promise<SandboxSettings>;
  payment(id: string): Promise<SandboxPayment>;
  paymentsOf(orderId: string): Promise<SandboxPayment[]>;
  confirm(id: string, outcome: 'succeed' | 'fail'): Promise<SandboxPayment>;
}

export async function startSandboxProvider(options: StartSandboxOptions = {}): Promise<SandboxProvider> {
  const sandbox = await startSandboxProcess({ name: 'the sandbox provider', serverPath, envPrefix: 'SANDBOX_PSP', keyPrefix: 'sk_test' }, options, {
    SANDBOX_PSP_3DS_DELAY_MS: options.threeDSecureDelayMs == null ? 'never' : String(options.threeDSecureDelayMs),
    ...(options.publishableKey ? { SANDBOX_PSP_PUBLISHABLE_KEY: options.publishableKey } : {}),
  });
  const { baseUrl, request } = sandbox;

  return {
    ...sandbox,
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
  };
}

export type ReceivedWebhook = ReceivedPartnerWebhook<PaymentWebhookEvent>;

/** Where the sandbox provider delivers during a test (test/support/webhook-receiver.ts). */
export const startWebhookReceiver = () => startPartnerWebhookReceiver<PaymentWebhookEvent, 'providerPaymentId'>('providerPaymentId', '/webhooks/payments');

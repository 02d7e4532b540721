/**
 * # Sandbox payment provider
 *
 * A stand-in for a real payment service provider, run as its own process and spoken to over HTTP only, so
 * Comptoir's adapter (`payments/sandbox-adapter.ts`) works exactly as it would against a real one.
 *
 *     SANDBOX_PSP_API_KEY=sk_test_… SANDBOX_PSP_WEBHOOK_SECRET=… SANDBOX_PSP_PORT=0 \
 *       node --import tsx sandbox/payment-provider/server.ts
 *
 * Prints one JSON line `{"listening":<port>,"url":"http://127.0.0.1:<port>"}` once it accepts connections
 * (port 0 picks a free one), then JSON log lines. SIGTERM or SIGINT stops it.
 *
 * ## State
 * In memory: tokens, payments, idempotency keys (kept 24 h), events and delivery attempts. A restart is a
 * fresh test account — ids from before are unknown (404), like a provider that never saw them. Nothing on
 * disk, so no card data can linger anywhere.
 *
 * ## API (JSON; errors are `{"error":{"code","message"}}`)
 * - `POST /v1/tokens` {number, expMonth, expYear, cvc} → 201 {token: "tok_…", brand, last4}. Called by the
 *   shopper's browser (CORS open), so card numbers never reach Comptoir. Needs `Authorization: Bearer
 *   <publishable key>` when SANDBOX_PSP_PUBLISHABLE_KEY is set, nothing otherwise. The number and CVC are
 *   dropped once the token is made; they are never logged, stored or echoed (even in a JSON error).
 * - Everything else under /v1 needs `Authorization: Bearer <SANDBOX_PSP_API_KEY>` (401 `unauthorized`).
 * - `POST /v1/payments` {token, amount, currency, orderId} → 201 {id: "pay_…", status: authorised |
 *   requires_action (+ action_url) | declined (+ reason), …}.
 * - `POST /v1/payments/{id}/capture` {amount?, currency?} → 200 {id: "cap_…", status: "captured", amount}.
 *   Once per payment (409 `payment_already_captured`), only when authorised (409 `payment_not_authorised`),
 *   at most the authorised amount (422 `amount_exceeds_authorised`).
 * - `POST /v1/payments/{id}/void` → 200 {status: "voided"}; before capture only (409 `payment_already_captured`).
 * - `POST /v1/payments/{id}/refunds` {amount, currency?} → 201 {id: "re_…", status: "refunded", amount,
 *   refundedAmount}; never beyond what was captured, even when refunds race (422 `amount_exceeds_captured`).
 * - `GET /v1/payments/{id}` → the payment.
 * - The four POSTs need an `Idempotency-Key` header (400 `idempotency_key_required`): the same key with the
 *   same route and body replays the stored answer (`Idempotent-Replayed: true`), with anything else → 422
 *   `idempotency_key_reused`. 5xx answers are not stored, so retrying with the key tries again.
 * - Money is integer minor units and an ISO 4217 currency; a currency other than the payment's → 422.
 *
 * ## Test cards (`cards.ts`; any expiry in the future, any 3–4 digit CVC)
 * | number             | behaviour |
 * |--------------------|-----------|
 * | 4242424242424242   | authorised |
 * | 4000000000000002   | declined, `card_declined` |
 * | 4000000000009995   | declined, `insufficient_funds` |
 * | 4000000000003220   | `requires_action` (3-D Secure): confirmed by itself after SANDBOX_PSP_3DS_DELAY_MS (then a `payment.authorised` webhook), or by `POST /v1/test/payments/{id}/confirm` {outcome: succeed/fail}, or on the action page |
 * | 4000000000000119   | provider timeout: hangs SANDBOX_PSP_HANG_MS then 503 (`timeoutCard: hang`), or 503 at once (`unavailable`) — every time |
 * | 4000000000005035   | 503 for the first SANDBOX_PSP_FLAKY_FAILURES (2) attempts of each idempotency key, then authorised |
 * | any past expiry    | declined, `expired_card` |
 * | other Luhn-valid   | authorised |
 *
 * ## Webhooks
 * Every state change is an event (`payment.authorised`, `.declined`, `.captured`, `.refunded`, `.voided`;
 * shape `PaymentWebhookEvent` in payments/provider.ts) POSTed to SANDBOX_PSP_WEBHOOK_URL with
 * `Comptoir-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (payments/webhook-signature.ts), one
 * `v1` per secret in SANDBOX_PSP_WEBHOOK_SECRET (comma-separated, for rotation). A non-2xx answer or a
 * network error is retried with exponential backoff (SANDBOX_PSP_WEBHOOK_RETRY_BASE_MS × 2^n, capped at
 * 60 s, SANDBOX_PSP_WEBHOOK_MAX_ATTEMPTS attempts). Chaos: SANDBOX_PSP_WEBHOOK_DUPLICATE_RATE (0..1: some
 * events delivered twice), SANDBOX_PSP_WEBHOOK_REORDER (a payment's events sent newest first in pairs),
 * SANDBOX_PSP_WEBHOOK_DELAY_MS (every event held that long).
 *
 * ## Test routes (secret key)
 * - `GET /v1/test/payments?orderId=` and `GET /v1/test/payments/{id}`: full state, captures (`captureCount`),
 *   refunds, events and delivery attempts.
 * - `POST /v1/test/payments/{id}/confirm` {outcome: "succeed" | "fail"}: the 3-D Secure outcome, now.
 * - `GET /v1/test/webhooks`: every event and delivery attempt.
 * - `GET|POST /v1/test/settings` (alias `POST /v1/test/chaos`): change any knob of settings.ts at run time
 *   (webhookUrl, duplicateRate, reorder, reorderWindowMs, delayMs, webhookRetryBaseMs, webhookMaxAttempts,
 *   threeDSecureDelayMs, timeoutCard, hangMs, flakyFailures, outage).
 *
 * ## Environment
 * SANDBOX_PSP_PORT (default 4010; 0 = any free port), SANDBOX_PSP_HOST (127.0.0.1), SANDBOX_PSP_PUBLIC_URL
 * (base of action URLs; default the listening address), SANDBOX_PSP_API_KEY (required),
 * SANDBOX_PSP_PUBLISHABLE_KEY, SANDBOX_PSP_WEBHOOK_URL, SANDBOX_PSP_WEBHOOK_SECRET (required),
 * SANDBOX_PSP_3DS_DELAY_MS (2000, or `never`), SANDBOX_PSP_TIMEOUT_CARD (hang | unavailable),
 * SANDBOX_PSP_HANG_MS (30000), SANDBOX_PSP_FLAKY_FAILURES (2), the webhook knobs above, and
 * SANDBOX_PSP_LOG (debug | info | error | silent; debug adds one line per request: method, path, status).
 */
import { runSandboxServer } from '../shared/server';
import { createSandboxApp } from './app';
import { settingsFromEnv } from './settings';

await runSandboxServer({
  service: 'sandbox-psp',
  envPrefix: 'SANDBOX_PSP',
  defaultPort: 4010,
  load: settingsFromEnv,
  createApp: createSandboxApp,
  ready: {
    message: 'sandbox payment provider ready',
    fields: ({ settings }) => ({ webhookUrl: settings.webhookUrl, threeDSecureDelayMs: settings.threeDSecureDelayMs, timeoutCard: settings.timeoutCard }),
  },
});

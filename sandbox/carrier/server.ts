/**
 * # Sandbox carrier
 *
 * A stand-in for a real parcel carrier, run as its own process and spoken to over HTTP only, so Comptoir's
 * adapter (`fulfilment/sandbox-carrier-adapter.ts`) works exactly as it would against a real one.
 *
 *     SANDBOX_CARRIER_API_KEY=ck_test_… SANDBOX_CARRIER_WEBHOOK_SECRET=… SANDBOX_CARRIER_PORT=0 \
 *       node --import tsx sandbox/carrier/server.ts          (or: npm run sandbox:carrier)
 *
 * Prints one JSON line `{"listening":<port>,"url":"http://127.0.0.1:<port>"}` once it accepts connections
 * (port 0 picks a free one), then JSON log lines. SIGTERM or SIGINT stops it.
 *
 * ## State
 * In memory: parcels, idempotency keys (kept 24 h), events and delivery attempts. A restart is a fresh test
 * account. Addresses are kept only to print labels; they are never logged or echoed by the JSON routes.
 *
 * ## API (JSON; errors are `{"error":{"code","message"}}`; every /v1 route needs `Authorization: Bearer <SANDBOX_CARRIER_API_KEY>`)
 * - `POST /v1/shipments` {reference, orderId, fromLocation, to: address, lines: [{sku, quantity}], service?}
 *   → 201 {id: "shp_…", kind: "outbound", trackingNumber, labelUrl, status: "booked", …}.
 * - `POST /v1/returns` {reference, orderId, from: address, toLocation, lines} → 201, same shape, kind "return".
 * - Both need an `Idempotency-Key` header (400 `idempotency_key_required`): the same key with the same route
 *   and body replays the stored booking (`Idempotent-Replayed: true`), with anything else → 422
 *   `idempotency_key_reused`. An outage's 503 is not stored, so retrying with the key tries again.
 * - `GET /v1/shipments/{id}` → the parcel (no address). `GET /labels/{id}` → the printable label (HTML).
 *
 * ## How parcels move (parcels.ts)
 * With `autoAdvance` (default on) an outbound parcel is picked up SANDBOX_CARRIER_PICKUP_DELAY_MS after
 * booking (30 s), then goes in transit, out for delivery and delivered, one step every
 * SANDBOX_CARRIER_STEP_DELAY_MS (20 s); a return skips "out for delivery". Test markers in the address
 * (name, line1 or line2):
 * | marker                   | what happens |
 * |--------------------------|--------------|
 * | `CARRIER-TEST-EXCEPTION` | picked up → in transit → `exception` ("address not found"), then nothing until a test route says |
 * | `CARRIER-TEST-NO-PICKUP` | never collected (no event at all) |
 * SANDBOX_CARRIER_EXCEPTION_RATE (0..1) makes some unmarked parcels exceptions too.
 *
 * ## Webhooks
 * Every event (`CarrierTrackingEvent` in fulfilment/carrier.ts: picked_up, in_transit, out_for_delivery,
 * delivered, exception, returned_to_sender) is POSTed to SANDBOX_CARRIER_WEBHOOK_URL with
 * `Comptoir-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1` per secret in
 * SANDBOX_CARRIER_WEBHOOK_SECRET (comma-separated, for rotation). A non-2xx answer or a network error is
 * retried with exponential backoff (SANDBOX_CARRIER_WEBHOOK_RETRY_BASE_MS × 2^n, capped at 60 s,
 * SANDBOX_CARRIER_WEBHOOK_MAX_ATTEMPTS attempts). Chaos: SANDBOX_CARRIER_WEBHOOK_DUPLICATE_RATE (0..1),
 * SANDBOX_CARRIER_WEBHOOK_REORDER (a parcel's events sent newest first in pairs), SANDBOX_CARRIER_WEBHOOK_DELAY_MS.
 *
 * ## Test routes (API key)
 * - `GET /v1/test/shipments?orderId=&reference=`, `GET /v1/test/shipments/{id}`: parcel, scenario, next step,
 *   events and delivery attempts.
 * - `POST /v1/test/shipments/{id}/advance`: the next step of its scenario, now (409 when none is left).
 * - `POST /v1/test/shipments/{id}/events` {type, detail?, occurredAt?}: any event, now.
 * - `POST /v1/test/events/{eventId}/redeliver`: the same event delivered again (a duplicate).
 * - `GET /v1/test/webhooks`; `GET|POST /v1/test/settings`: any knob of settings.ts at run time.
 *
 * ## Environment
 * SANDBOX_CARRIER_PORT (default 4020; 0 = any free port), SANDBOX_CARRIER_HOST (127.0.0.1),
 * SANDBOX_CARRIER_PUBLIC_URL (base of label URLs; default the listening address), SANDBOX_CARRIER_API_KEY
 * (required), SANDBOX_CARRIER_WEBHOOK_URL, SANDBOX_CARRIER_WEBHOOK_SECRET (required),
 * SANDBOX_CARRIER_AUTO_ADVANCE, the delays and chaos knobs above, and SANDBOX_CARRIER_LOG
 * (debug | info | error | silent).
 */
import { runSandboxServer } from '../shared/server';
import { createCarrierApp } from './app';
import { settingsFromEnv } from './settings';

await runSandboxServer({
  service: 'sandbox-carrier',
  envPrefix: 'SANDBOX_CARRIER',
  defaultPort: 4020,
  load: settingsFromEnv,
  createApp: createCarrierApp,
  ready: {
    message: 'sandbox carrier ready',
    fields: ({ settings }) => ({
      webhookUrl: settings.webhookUrl,
      autoAdvance: settings.autoAdvance,
      pickupDelayMs: settings.pickupDelayMs,
      stepDelayMs: settings.stepDelayMs,
    }),
  },
});

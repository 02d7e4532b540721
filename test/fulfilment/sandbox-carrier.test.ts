/**
 * The sandbox carrier process over HTTP, and Comptoir's adapter for it: API key, idempotent bookings,
 * signed tracking webhooks (verifiable with the platform's own checker), retries on a non-2xx answer,
 * duplicates, reordering, the test markers, and the adapter's retryable / non-retryable errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CarrierRejection, CarrierUnavailable, type BookShipmentRequest, type CarrierTrackingEvent } from '../../fulfilment/carrier';
import { createSandboxCarrier } from '../../fulfilment/sandbox-carrier-adapter';
import { verifyWebhookSignature } from '../../payments/webhook-signature';
import { carrierTestMarkers, startSandboxCarrier, type SandboxCarrier } from '../support/sandbox-carrier';
import { waitFor } from '../support/stack';
import { startWebhookReceiver } from '../support/webhook-receiver';

const receiver = () => startWebhookReceiver<CarrierTrackingEvent, 'carrierShipmentId'>('carrierShipmentId', '/v1/webhooks/shipments');

const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };
let n = 0;
const shipment = (overrides: Partial<BookShipmentRequest> = {}): BookShipmentRequest => ({
  orderId: '7a0c8d7e-0000-4000-8000-000000000001',
  shipmentId: `ship-${++n}`,
  fromLocation: 'paris',
  to: address,
  lines: [{ sku: 'MUG', quantity: 2 }],
  ...overrides,
});

describe('sandbox carrier', () => {
  let carrier: SandboxCarrier;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  const secret = 'whsec_sandbox_carrier_test_secret_0123456789';

  before(async () => {
    hooks = await receiver();
    carrier = await startSandboxCarrier({ webhookUrl: hooks.url, webhookSecret: secret, autoAdvance: false, log: 'error' });
  });
  after(async () => {
    await carrier?.stop();
    await hooks?.close();
  });

  const adapter = () => createSandboxCarrier({ baseUrl: carrier.baseUrl, apiKey: carrier.apiKey, timeoutMs: 5_000 });

  test('every /v1 route needs the API key', async () => {
    const response = await fetch(`${carrier.baseUrl}/v1/shipments`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k' }, body: '{}' });
    assert.equal(response.status, 401);
    await assert.rejects(createSandboxCarrier({ baseUrl: carrier.baseUrl, apiKey: 'ck_wrong' }).bookShipment(shipment(), 'k-auth'), (error: unknown) => {
      assert.ok(error instanceof CarrierRejection);
      assert.equal(error.code, 'unauthorized');
      return true;
    });
  });

  test('a booking needs an Idempotency-Key and a valid body', async () => {
    const noKey = await carrier.request('/v1/shipments', { body: { reference: 'x' } });
    assert.equal(noKey.status, 400);
    assert.equal(((await noKey.json()) as { error: { code: string } }).error.code, 'idempotency_key_required');
    const bad = await carrier.request('/v1/shipments', { body: { reference: 'x', orderId: 'o', fromLocation: 'paris', to: { ...address, country: 'France' }, lines: [] }, headers: { 'idempotency-key': 'k-bad' } });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'invalid_request');
    assert.match(body.error.message, /to\.country/);
    assert.match(body.error.message, /lines/);
    assert.ok(!body.error.message.includes('Lilas'), 'the address is not echoed');
  });

  test('same key and parameters → the same booking; the same key with other parameters → refused, not retryable', async () => {
    const request = shipment();
    const first = await adapter().bookShipment(request, 'k-same');
    const again = await adapter().bookShipment(request, 'k-same');
    assert.deepEqual(again, first);
    assert.match(first.trackingNumber, /^SBX\d{12}[A-Z]$/);
    assert.ok(first.labelUrl.startsWith(`${carrier.baseUrl}/labels/`));
    const label = await fetch(first.labelUrl);
    assert.equal(label.status, 200);
    assert.match(await label.text(), new RegExp(first.trackingNumber));
    await assert.rejects(adapter().bookShipment({ ...request, lines: [{ sku: 'MUG', quantity: 3 }] }, 'k-same'), (error: unknown) => {
      assert.ok(error instanceof CarrierRejection);
      assert.equal(error.code, 'idempotency_key_reused');
      return true;
    });
    assert.equal((await carrier.parcelsOf(request.orderId)).filter((p) => p.reference === request.shipmentId).length, 1, 'one parcel for the key');
  });

  test('an outage is retryable, and the retry with the same key books once', async () => {
    await carrier.settings({ outage: true });
    const request = shipment();
    await assert.rejects(adapter().bookShipment(request, 'k-outage'), CarrierUnavailable);
    await carrier.settings({ outage: false });
    const booked = await adapter().bookShipment(request, 'k-outage');
    assert.equal((await carrier.parcelByReference(request.shipmentId))?.id, booked.carrierShipmentId);
  });

  test('an unreachable carrier is retryable', async () => {
    await assert.rejects(createSandboxCarrier({ baseUrl: 'http://127.0.0.1:9', apiKey: 'x', timeoutMs: 2_000 }).bookShipment(shipment(), 'k-down'), CarrierUnavailable);
  });

  test('tracking webhooks are signed with the shared secret and verify with the platform checker', async () => {
    const booked = await adapter().bookShipment(shipment(), 'k-signed');
    const event = await carrier.advance(booked.carrierShipmentId);
    assert.equal(event.type, 'picked_up');
    const [delivery] = await waitFor(async () => (hooks.of(booked.carrierShipmentId).length > 0 ? hooks.of(booked.carrierShipmentId) : undefined), { what: 'the webhook' });
    assert.deepEqual(delivery!.event, event);
    assert.equal(delivery!.event.data.kind, 'outbound');
    assert.equal(delivery!.event.data.trackingNumber, booked.trackingNumber);
    assert.deepEqual(verifyWebhookSignature(secret, delivery!.headers['comptoir-signature'] as string, delivery!.rawBody, new Date()).ok, true);
    assert.equal(verifyWebhookSignature('another-secret', delivery!.headers['comptoir-signature'] as string, delivery!.rawBody, new Date()).ok, false);
  });

  test('a non-2xx answer is retried until accepted, with the same event id', async () => {
    const booked = await adapter().bookShipment(shipment(), 'k-retry');
    hooks.answerWith((event, earlier) => (event.data.carrierShipmentId === booked.carrierShipmentId && earlier.length < 2 ? 503 : 204));
    const event = await carrier.advance(booked.carrierShipmentId);
    const deliveries = await waitFor(async () => {
      const got = hooks.of(booked.carrierShipmentId);
      return got.some((r) => r.status === 204) ? got : undefined;
    }, { what: 'the retried webhook', timeoutMs: 10_000 });
    hooks.answerWith(() => 204);
    assert.deepEqual(deliveries.map((r) => [r.event.id, r.status]), [[event.id, 503], [event.id, 503], [event.id, 204]]);
  });

  test('duplicates: a redelivered event arrives again under the same id', async () => {
    const booked = await adapter().bookShipment(shipment(), 'k-dup');
    const event = await carrier.advance(booked.carrierShipmentId);
    await waitFor(async () => hooks.of(booked.carrierShipmentId).length === 1, { what: 'first delivery' });
    await carrier.redeliver(event.id);
    const got = await waitFor(async () => (hooks.of(booked.carrierShipmentId).length === 2 ? hooks.of(booked.carrierShipmentId) : undefined), { what: 'the duplicate' });
    assert.deepEqual(got.map((r) => r.event.id), [event.id, event.id]);
  });

  test('reorder: a parcel’s events go out newest first, in pairs', async () => {
    await carrier.settings({ reorder: true, reorderWindowMs: 5_000 });
    try {
      const booked = await adapter().bookShipment(shipment(), 'k-reorder');
      const first = await carrier.advance(booked.carrierShipmentId);
      const second = await carrier.advance(booked.carrierShipmentId);
      const got = await waitFor(async () => (hooks.of(booked.carrierShipmentId).length === 2 ? hooks.of(booked.carrierShipmentId) : undefined), { what: 'the pair' });
      assert.deepEqual(got.map((r) => r.event.type), [second.type, first.type]);
      assert.deepEqual(got.map((r) => r.event.type), ['in_transit', 'picked_up']);
    } finally {
      await carrier.settings({ reorder: false });
    }
  });

  test('parcels move by themselves with the configured delays; the exception and no-pick-up markers choose their fate', async () => {
    await carrier.settings({ autoAdvance: true, pickupDelayMs: 50, stepDelayMs: 50 });
    try {
      const normal = await adapter().bookShipment(shipment(), 'k-auto');
      const stuck = await adapter().bookShipment(shipment({ to: { ...address, line2: carrierTestMarkers.exception } }), 'k-exception');
      const idle = await adapter().bookShipment(shipment({ to: { ...address, line2: carrierTestMarkers.noPickup } }), 'k-idle');
      const types = (id: string) => hooks.of(id).map((r) => r.event.type);
      await waitFor(async () => types(normal.carrierShipmentId).length === 4 && types(stuck.carrierShipmentId).length === 3, { what: 'the parcels to move', timeoutMs: 10_000 });
      assert.deepEqual(types(normal.carrierShipmentId), ['picked_up', 'in_transit', 'out_for_delivery', 'delivered']);
      assert.deepEqual(types(stuck.carrierShipmentId), ['picked_up', 'in_transit', 'exception']);
      assert.ok(hooks.of(stuck.carrierShipmentId)[2]!.event.data.detail);
      assert.deepEqual(types(idle.carrierShipmentId), []);
      assert.equal((await carrier.parcel(idle.carrierShipmentId)).scenario, 'no_pickup');
      // Occurrence times follow the parcel's path.
      const times = hooks.of(normal.carrierShipmentId).map((r) => Date.parse(r.event.occurredAt));
      assert.deepEqual([...times].sort((a, b) => a - b), times);
    } finally {
      await carrier.settings({ autoAdvance: false });
    }
  });

  test('returns are booked the same way and send events of kind "return"', async () => {
    const booked = await adapter().bookReturn({ returnId: 'ret-1', orderId: 'o-1', from: address, toLocation: 'paris', lines: [{ sku: 'MUG', quantity: 1 }] }, 'k-return');
    const event = await carrier.advance(booked.carrierShipmentId);
    assert.equal(event.data.kind, 'return');
    assert.equal(event.data.reference, 'ret-1');
    assert.deepEqual((await carrier.parcel(booked.carrierShipmentId)).nextStep, 'in_transit');
  });
});

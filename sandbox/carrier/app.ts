/**
 * The sandbox carrier's HTTP surface (see server.ts for the guide). Routes are thin: check the key, parse
 * the body, run the booking through the idempotency keys, answer JSON.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { trackingEventTypes, type CarrierTrackingEvent } from '../../fulfilment/carrier';
import { bodyOf, createSandboxHono, errorBody, idempotencyKeyOf, reply, requireServerKey } from '../shared/http';
import { IdempotencyKeys } from '../shared/idempotency';
import type { Logger } from '../shared/log';
import { WebhookSender } from '../shared/webhook-sender';
import { CarrierError, ParcelBook, type BookingInput, type Parcel } from './parcels';
import { settingsPatch, type CarrierSecrets, type CarrierSettings } from './settings';

const text = (max: number) => z.string().trim().min(1).max(max);
const address = z
  .object({
    name: text(200),
    line1: text(200),
    line2: z.string().max(200).optional(),
    postalCode: text(20),
    city: text(100),
    region: z.string().max(100).optional(),
    country: z.string().regex(/^[A-Z]{2}$/),
    phone: z.string().max(40).optional(),
  })
  .strict();
const lines = z
  .array(z.object({ sku: text(100), quantity: z.number().int().min(1).max(9_999) }).strict())
  .min(1)
  .max(200);
const shipmentBody = z
  .object({ reference: text(200), orderId: text(200), fromLocation: text(100), to: address, lines, service: z.string().max(50).optional() })
  .strict();
const returnBody = z.object({ reference: text(200), orderId: text(200), from: address, toLocation: text(100), lines }).strict();
const eventBody = z.object({ type: z.enum(trackingEventTypes), detail: z.string().max(500).optional(), occurredAt: z.iso.datetime().optional() }).strict();

const unavailable = errorBody('carrier_unavailable', 'the carrier is unavailable; retry with the same Idempotency-Key');

/** What the booking answers and the tracking routes show: never the address. */
const parcelView = (p: Parcel, labelUrl: string) => ({
  id: p.id,
  object: 'shipment',
  kind: p.kind,
  reference: p.reference,
  orderId: p.orderId,
  trackingNumber: p.trackingNumber,
  labelUrl,
  status: p.status,
  lines: p.lines,
  ...(p.service ? { service: p.service } : {}),
  createdAt: p.createdAt,
  updatedAt: p.updatedAt,
});

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function labelHtml(p: Parcel): string {
  const place = (end: Parcel['from']) =>
    'location' in end
      ? `Comptoir, stock location ${escapeHtml(end.location)}`
      : [end.address.name, end.address.line1, end.address.line2, `${end.address.postalCode} ${end.address.city}`, end.address.region, end.address.country]
          .filter(Boolean)
          .map((line) => escapeHtml(line!))
          .join('<br>');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Label ${p.trackingNumber}</title></head><body style="font-family:monospace;max-width:30em;margin:2em auto;border:2px solid #000;padding:1em">
<h1 style="font-size:1.4em">SANDBOX CARRIER — ${p.kind === 'return' ? 'RETURN' : p.service === 'express' ? 'EXPRESS' : 'STANDARD'}</h1>
<p><b>From</b><br>${place(p.from)}</p><p><b>To</b><br>${place(p.to)}</p>
<p style="font-size:1.6em;letter-spacing:.2em">${p.trackingNumber}</p><p>Ref ${escapeHtml(p.reference)}</p></body></html>`;
}

export interface CarrierAppOptions {
  settings: CarrierSettings;
  secrets: CarrierSecrets;
  log: Logger;
  /** Where label URLs point; known once the server listens. */
  publicUrl: () => string;
}

export function createCarrierApp({ settings, secrets, log, publicUrl }: CarrierAppOptions) {
  // Tracking webhooks: a parcel's events go out in order, one at a time.
  const dispatcher = new WebhookSender<CarrierTrackingEvent, 'carrierShipmentId'>({
    settings: () => settings,
    secrets: secrets.webhookSecrets,
    log,
    subject: 'carrierShipmentId',
    userAgent: 'comptoir-sandbox-carrier/1',
  });
  const book = new ParcelBook((event) => dispatcher.emit(event));
  const keys = new IdempotencyKeys();
  const timers = new Set<NodeJS.Timeout>();
  const labelUrl = (id: string) => `${publicUrl()}/labels/${id}`;

  /** Parcels move by themselves while `autoAdvance` is on: one step, then the next after `stepDelayMs`. */
  function moveLater(id: string, ms: number) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!settings.autoAdvance) return;
      const event = book.advance(id);
      if (event) log.info('parcel moved', { shipmentId: id, type: event.type });
      if (book.nextStep(id)) moveLater(id, settings.stepDelayMs);
    }, ms);
    timers.add(timer);
  }

  async function booking(c: Context, key: string, route: string, input: BookingInput, params: unknown) {
    const result = await keys.run(key, route, params, async () => {
      const parcel = book.book(input, settings.exceptionRate);
      if (settings.autoAdvance && book.nextStep(parcel.id)) moveLater(parcel.id, settings.pickupDelayMs);
      log.info('parcel booked', { shipmentId: parcel.id, kind: parcel.kind, reference: parcel.reference, scenario: parcel.scenario });
      return { status: 201, body: parcelView(parcel, labelUrl(parcel.id)) };
    });
    return reply(c, result);
  }

  const app = createSandboxHono(log);

  // Labels are printed by whoever holds the link (the warehouse, the customer for a return): the id is
  // 96 random bits, as unguessable as a key.
  app.get('/labels/:id', (c) => c.html(labelHtml(book.parcel(c.req.param('id')))));

  app.use('/v1/*', requireServerKey({ apiKey: secrets.apiKey, keyName: 'API key', outage: () => settings.outage, unavailable }));

  app.post('/v1/shipments', async (c) => {
    const key = idempotencyKeyOf(c);
    const input = await bodyOf(c, shipmentBody);
    return booking(
      c,
      key,
      'POST /v1/shipments',
      { kind: 'outbound', reference: input.reference, orderId: input.orderId, from: { location: input.fromLocation }, to: { address: input.to }, lines: input.lines, service: input.service },
      input,
    );
  });

  app.post('/v1/returns', async (c) => {
    const key = idempotencyKeyOf(c);
    const input = await bodyOf(c, returnBody);
    return booking(
      c,
      key,
      'POST /v1/returns',
      { kind: 'return', reference: input.reference, orderId: input.orderId, from: { address: input.from }, to: { location: input.toLocation }, lines: input.lines },
      input,
    );
  });

  app.get('/v1/shipments/:id', (c) => {
    const parcel = book.parcel(c.req.param('id'));
    return c.json(parcelView(parcel, labelUrl(parcel.id)));
  });

  // Test routes: what a carrier's test account offers. Same API key.
  const fullView = (p: Parcel) => ({
    ...parcelView(p, labelUrl(p.id)),
    scenario: p.scenario,
    nextStep: book.nextStep(p.id) ?? null,
    events: dispatcher.events.filter((e) => e.data.carrierShipmentId === p.id),
    deliveries: dispatcher.attempts.filter((a) => a.carrierShipmentId === p.id),
  });

  app.get('/v1/test/shipments', (c) => c.json({ data: book.find({ orderId: c.req.query('orderId'), reference: c.req.query('reference') }).map(fullView) }));
  app.get('/v1/test/shipments/:id', (c) => c.json(fullView(book.parcel(c.req.param('id')))));
  app.post('/v1/test/shipments/:id/advance', (c) => {
    const id = c.req.param('id');
    const event = book.advance(id);
    if (!event) throw new CarrierError(409, 'nothing_to_advance', 'the parcel has no step left in its scenario');
    return c.json({ event, shipment: fullView(book.parcel(id)) });
  });
  app.post('/v1/test/shipments/:id/events', async (c) => {
    const id = c.req.param('id');
    const input = await bodyOf(c, eventBody);
    const event = book.emit(id, input.type, input.detail, input.occurredAt);
    return c.json({ event, shipment: fullView(book.parcel(id)) }, 201);
  });
  app.post('/v1/test/events/:id/redeliver', (c) => {
    const event = dispatcher.redeliver(c.req.param('id'));
    if (!event) throw new CarrierError(404, 'event_not_found', 'no such event');
    return c.json({ event }, 202);
  });
  app.get('/v1/test/webhooks', (c) => c.json({ events: dispatcher.events, deliveries: dispatcher.attempts }));
  app.get('/v1/test/settings', (c) => c.json(settings));
  app.post('/v1/test/settings', async (c) => {
    Object.assign(settings, await bodyOf(c, settingsPatch));
    log.info('settings changed', { settings });
    return c.json(settings);
  });

  return {
    app,
    /** Stops parcels moving and webhook delivery. */
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      dispatcher.stop();
    },
    inspect: { book, dispatcher, keys },
  };
}

/**
 * Where an order's parcels are: `GET /v1/orders/{id}/tracking` for the owner (or staff with orders:read;
 * anyone else gets 404), read from the shipments and the carrier events fulfilment kept. Staff also see
 * why a parcel waits for them and the carrier's words; the customer sees the parcels' progress only.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { shipmentsOfOrder, trackingEventsOfOrder, type TrackingEventRow } from '../../db/fulfilment';
import { orderById } from '../../db/orders';
import { access, requireOwnerOrStaff } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { SignedInProblemResponses } from '../schemas';

export const TrackingEvent = z
  .object({
    shipmentId: z.uuid(),
    type: z.string().openapi({ description: 'The carrier event: picked_up, in_transit, out_for_delivery, delivered, exception, returned_to_sender' }),
    status: z.string().openapi({ description: 'The parcel status once the event was taken' }),
    occurredAt: z.string().openapi({ description: "By the carrier's clock (ISO 8601, UTC)" }),
  })
  .openapi('TrackingEvent');

const Shipment = z
  .object({
    id: z.uuid(),
    status: z.enum(['planned', 'booked', 'picked_up', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned_to_sender', 'cancelled']),
    attempt: z.number().int().openapi({ description: '2 and more: a replacement parcel (`replacesShipmentId`)' }),
    replacesShipmentId: z.uuid().nullable(),
    carrier: z.string().nullable(),
    trackingNumber: z.string().nullable(),
    lines: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
    pickedUpAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    events: z.array(TrackingEvent.omit({ shipmentId: true })),
    staff: z
      .object({
        fromLocation: z.string(),
        attention: z.string().nullable().openapi({ description: 'Why the parcel waits for ops: pickup_overdue, exception, booking_refused, returned_to_sender' }),
        exceptionDetail: z.string().nullable(),
        labelUrl: z.string().nullable(),
        ignoredEvents: z.number().int().openapi({ description: 'Carrier events taken but ignored (out of order, after the end, for a cancelled parcel)' }),
      })
      .optional()
      .openapi({ description: 'Only for staff' }),
  })
  .openapi('Shipment');

const Tracking = z
  .object({
    orderId: z.uuid(),
    orderStatus: z.string(),
    deliveredAt: z.string().nullable(),
    returnWindowEndsAt: z.string().nullable(),
    shipments: z.array(Shipment),
  })
  .openapi('Tracking');

const trackingRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/tracking',
  tags: ['orders', 'fulfilment'],
  summary: "The order's parcels and their carrier events (the owner, or staff with orders:read)",
  ...access('account:self'),
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 200: { description: 'The parcels, oldest first', content: { 'application/json': { schema: Tracking } } }, ...SignedInProblemResponses },
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** One carrier event as the customer may see it (the SSE stream's `event: tracking` too): no carrier free text. */
export function trackingEventView(event: TrackingEventRow) {
  return { shipmentId: event.shipmentId, type: event.type, status: event.statusAfter, occurredAt: event.occurredAt.toISOString() };
}

export function trackingRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(trackingRoute, async (c) => {
    const { db } = c.get('deps');
    const order = await orderById(db, c.req.valid('param').id);
    requireOwnerOrStaff(c, order?.accountId, 'orders:read', 'order');
    // Staff pass the ownership check for any id: an order that does not exist is still a 404.
    if (!order) throw new HttpProblem(problems.notFound(`No order ${c.req.valid('param').id}`));
    const principal = c.get('principal');
    const isOwner = principal?.kind === 'account' && principal.accountId === order.accountId;
    const [shipments, events] = await Promise.all([shipmentsOfOrder(db, order.id), trackingEventsOfOrder(db, order.id)]);
    return c.json(
      {
        orderId: order.id,
        orderStatus: order.status,
        deliveredAt: iso(order.deliveredAt),
        returnWindowEndsAt: iso(order.returnWindowEndsAt),
        shipments: shipments.map((shipment) => {
          const own = events.filter((event) => event.shipmentId === shipment.id);
          return {
            id: shipment.id,
            status: shipment.status,
            attempt: shipment.attempt,
            replacesShipmentId: shipment.replacesShipmentId,
            carrier: shipment.carrier,
            trackingNumber: shipment.trackingNumber,
            lines: shipment.lines,
            pickedUpAt: iso(shipment.pickedUpAt),
            deliveredAt: iso(shipment.deliveredAt),
            events: own
              .filter((event) => event.applied === 'applied')
              .map((event) => {
                const { shipmentId: _shipmentId, ...view } = trackingEventView(event);
                return view;
              }),
            ...(isOwner
              ? {}
              : {
                  staff: {
                    fromLocation: shipment.fromLocation,
                    attention: shipment.attention,
                    exceptionDetail: shipment.exceptionDetail,
                    labelUrl: shipment.labelUrl,
                    ignoredEvents: own.filter((event) => event.applied === 'ignored').length,
                  },
                }),
          };
        }),
      },
      200,
      { 'Cache-Control': 'no-store' },
    );
  });
}

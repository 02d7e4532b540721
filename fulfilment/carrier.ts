/**
 * What Comptoir needs from a carrier, whoever it is: the sandbox (`sandbox/carrier/`) or a real one
 * behind the same adapter. Booking calls take an idempotency key (built by the calling workflow from its
 * workflow id and the shipment or return): the carrier returns the same booking for the same key and
 * parameters, and refuses the same key with other parameters. This module is types and error classes
 * only, so workflows may import its types.
 */

/** A postal address as the carrier prints it on the label. Personal data: never logged. */
export interface CarrierAddress {
  name: string;
  line1: string;
  line2?: string;
  postalCode: string;
  city: string;
  region?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  phone?: string;
}

/** Units in a parcel, by SKU: the carrier needs them for customs and the packing list, not prices. */
export interface ParcelLine {
  sku: string;
  quantity: number;
}

export interface BookShipmentRequest {
  orderId: string;
  /** Comptoir's shipment id: the carrier echoes it as `reference` on every tracking event. */
  shipmentId: string;
  /** The stock location the parcel leaves from (`inventory.stock_levels.location`). */
  fromLocation: string;
  to: CarrierAddress;
  lines: ParcelLine[];
  /** `standard` or `express`; carriers without the distinction ignore it. */
  service?: string;
}

export interface BookReturnRequest {
  returnId: string;
  orderId: string;
  /** The customer's address, where the carrier collects the parcel (or the label is printed from). */
  from: CarrierAddress;
  /** The stock location the parcel goes back to. */
  toLocation: string;
  lines: ParcelLine[];
}

export interface CarrierBooking {
  carrierShipmentId: string;
  trackingNumber: string;
  labelUrl: string;
}

/**
 * The carrier could not be reached, timed out, or answered 5xx / 429: retry with the same idempotency key;
 * the carrier either never saw the call or replays its stored booking.
 */
export class CarrierUnavailable extends Error {
  override name = 'CarrierUnavailable';
}

/** The carrier refused the booking (bad address, unknown service, key reused with other parameters): retrying would not help. */
export class CarrierRejection extends Error {
  override name = 'CarrierRejection';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface Carrier {
  readonly name: string;
  bookShipment(request: BookShipmentRequest, idempotencyKey: string): Promise<CarrierBooking>;
  bookReturn(request: BookReturnRequest, idempotencyKey: string): Promise<CarrierBooking>;
}

/** In the order a parcel normally goes through them; `exception` and `returned_to_sender` may come at any point. */
export const trackingEventTypes = ['picked_up', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned_to_sender'] as const;
export type TrackingEventType = (typeof trackingEventTypes)[number];

export type ParcelKind = 'outbound' | 'return';

/** Events the carrier sends by signed webhook (`POST /v1/webhooks/shipments`). */
export interface CarrierTrackingEvent {
  /** Unique per event at the carrier: redeliveries repeat it. */
  id: string;
  type: TrackingEventType;
  /** When it happened at the carrier (ISO 8601, UTC); events may arrive out of this order. */
  occurredAt: string;
  data: {
    carrierShipmentId: string;
    trackingNumber: string;
    /** Comptoir's shipment id (outbound) or return id (return), as given when booking. */
    reference: string;
    kind: ParcelKind;
    /** Free text from the carrier (e.g. why an exception happened); never personal data. */
    detail?: string;
  };
}

/**
 * Comptoir's adapter for the sandbox carrier (`sandbox/carrier/`), over plain HTTP as for a real carrier.
 * Failures are classified for the calling workflow's retry policy (platform/partner-http.ts):
 * - no answer (network error, timeout) or 5xx, 429 → `CarrierUnavailable`: retry with the same key; the
 *   carrier either never saw the call or replays its stored booking.
 * - any other 4xx → `CarrierRejection` with the carrier's error code: retrying would not help.
 * Error messages name the operation and the status or code only — never the key, an address or a body.
 */
import { partnerCaller } from '../platform/partner-http';
import {
  CarrierRejection,
  CarrierUnavailable,
  type BookReturnRequest,
  type BookShipmentRequest,
  type Carrier,
  type CarrierBooking,
} from './carrier';

export interface SandboxCarrierOptions {
  baseUrl: string;
  apiKey: string;
  /** Per call; past it the call is abandoned and reported unavailable (the idempotency key makes the retry safe). */
  timeoutMs?: number;
}

type CarrierParcel = { id?: unknown; trackingNumber?: unknown; labelUrl?: unknown };

export function createSandboxCarrier({ baseUrl, apiKey, timeoutMs = 10_000 }: SandboxCarrierOptions): Carrier {
  const call = partnerCaller({
    partner: 'carrier',
    baseUrl,
    apiKey,
    timeoutMs,
    unavailable: (message) => new CarrierUnavailable(message),
    rejection: (message, code) => new CarrierRejection(message, code),
  });

  async function book(operation: string, path: string, idempotencyKey: string, body: unknown): Promise<CarrierBooking> {
    const parcel = ((await call<CarrierParcel | undefined>(operation, path, idempotencyKey, body)) ?? {}) as CarrierParcel;
    // A 2xx without a usable booking says nothing reliable; the retry replays the stored booking.
    if (typeof parcel.id !== 'string' || typeof parcel.trackingNumber !== 'string' || typeof parcel.labelUrl !== 'string') {
      throw new CarrierUnavailable(`${operation}: the booking answer lacks an id, tracking number or label`);
    }
    return { carrierShipmentId: parcel.id, trackingNumber: parcel.trackingNumber, labelUrl: parcel.labelUrl };
  }

  return {
    name: 'sandbox-carrier',

    bookShipment(request: BookShipmentRequest, idempotencyKey: string) {
      return book('book shipment', '/v1/shipments', idempotencyKey, {
        reference: request.shipmentId,
        orderId: request.orderId,
        fromLocation: request.fromLocation,
        to: request.to,
        lines: request.lines,
        ...(request.service ? { service: request.service } : {}),
      });
    },

    bookReturn(request: BookReturnRequest, idempotencyKey: string) {
      return book('book return', '/v1/returns', idempotencyKey, {
        reference: request.returnId,
        orderId: request.orderId,
        from: request.from,
        toLocation: request.toLocation,
        lines: request.lines,
      });
    },
  };
}

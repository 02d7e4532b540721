/**
 * Comptoir's adapter for the sandbox carrier (`sandbox/carrier/`), over plain HTTP as for a real carrier.
 * Failures are classified for the calling workflow's retry policy:
 * - no answer (network error, timeout) or 5xx, 429 → `CarrierUnavailable`: retry with the same key; the
 *   carrier either never saw the call or replays its stored booking.
 * - any other 4xx → `CarrierRejection` with the carrier's error code: retrying would not help.
 * Error messages name the operation and the status or code only — never the key, an address or a body.
 */
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
  const root = baseUrl.replace(/\/+$/, '');

  async function book(operation: string, path: string, idempotencyKey: string, body: unknown): Promise<CarrierBooking> {
    let response: Response;
    try {
      response = await fetch(`${root}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new CarrierUnavailable(timedOut ? `${operation}: no answer within ${timeoutMs} ms` : `${operation}: carrier unreachable (${errorName(error)})`);
    }
    let parsed: unknown;
    try {
      const text = await response.text();
      parsed = text ? JSON.parse(text) : undefined;
    } catch (error) {
      // A body cut short (or a proxy's HTML page) says nothing reliable; the retry replays the stored booking.
      if (response.ok || response.status >= 500) throw new CarrierUnavailable(`${operation}: unreadable answer (HTTP ${response.status}, ${errorName(error)})`);
      parsed = undefined;
    }
    if (response.ok) {
      const parcel = (parsed ?? {}) as CarrierParcel;
      if (typeof parcel.id !== 'string' || typeof parcel.trackingNumber !== 'string' || typeof parcel.labelUrl !== 'string') {
        throw new CarrierUnavailable(`${operation}: the booking answer lacks an id, tracking number or label`);
      }
      return { carrierShipmentId: parcel.id, trackingNumber: parcel.trackingNumber, labelUrl: parcel.labelUrl };
    }
    const code = errorCodeOf(parsed) ?? `http_${response.status}`;
    if (response.status >= 500 || response.status === 429) throw new CarrierUnavailable(`${operation}: carrier answered ${response.status} (${code})`);
    throw new CarrierRejection(`${operation}: carrier refused with ${response.status} (${code})`, code);
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

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  // undici puts the socket-level reason (ECONNREFUSED, ECONNRESET …) in `cause`.
  const cause = (error as Error & { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : error.name;
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

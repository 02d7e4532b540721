/**
 * The carrier's books: parcels (outbound shipments and return shipments) and how each one moves, in
 * memory (a restart forgets everything, like a fresh test account).
 *
 * A parcel follows a scenario chosen at booking from its address:
 * - `normal`: picked up → in transit → out for delivery → delivered (a return skips "out for delivery");
 * - `exception`: picked up → in transit → exception ("address not found"), then nothing until told;
 * - `no_pickup`: never collected (the 48 h pick-up SLA of the fulfilment workflow).
 * Test markers anywhere in the address (name, line1 or line2) choose the last two; `exceptionRate` also
 * turns some unmarked parcels into exceptions. A test route can emit any event for any parcel at any time.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { SandboxError } from '../shared/http';
import type { CarrierAddress, CarrierTrackingEvent, ParcelKind, ParcelLine, TrackingEventType } from '../../fulfilment/carrier';

export class CarrierError extends SandboxError {
  override name = 'CarrierError';
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

/** Put one of these in an address line to choose what happens to the parcel. */
export const carrierTestMarkers = {
  exception: 'CARRIER-TEST-EXCEPTION',
  noPickup: 'CARRIER-TEST-NO-PICKUP',
} as const;

export type Scenario = 'normal' | 'exception' | 'no_pickup';

export interface Parcel {
  id: string;
  kind: ParcelKind;
  /** Comptoir's shipment id or return id, echoed on every event. */
  reference: string;
  orderId: string;
  trackingNumber: string;
  scenario: Scenario;
  /** Where it is collected and where it goes: a stock location or an address (personal data: never logged). */
  from: { location: string } | { address: CarrierAddress };
  to: { location: string } | { address: CarrierAddress };
  lines: ParcelLine[];
  service?: string;
  /** The last event the carrier emitted for it, `booked` before any. */
  status: 'booked' | TrackingEventType;
  /** How far along its scenario the parcel is (index of the next step). */
  step: number;
  createdAt: string;
  updatedAt: string;
}

const outboundSteps: TrackingEventType[] = ['picked_up', 'in_transit', 'out_for_delivery', 'delivered'];
const returnSteps: TrackingEventType[] = ['picked_up', 'in_transit', 'delivered'];
const exceptionSteps: TrackingEventType[] = ['picked_up', 'in_transit', 'exception'];

function stepsOf(parcel: Parcel): TrackingEventType[] {
  if (parcel.scenario === 'no_pickup') return [];
  if (parcel.scenario === 'exception') return exceptionSteps;
  return parcel.kind === 'return' ? returnSteps : outboundSteps;
}

function scenarioOf(address: CarrierAddress, exceptionRate: number, random: () => number): Scenario {
  const text = [address.name, address.line1, address.line2 ?? ''].join(' ').toUpperCase();
  if (text.includes(carrierTestMarkers.noPickup)) return 'no_pickup';
  if (text.includes(carrierTestMarkers.exception)) return 'exception';
  return exceptionRate > 0 && random() < exceptionRate ? 'exception' : 'normal';
}

const exceptionDetail = 'address not found: the parcel is held at the depot';

export type EventSink = (event: CarrierTrackingEvent) => void;

export interface BookingInput {
  kind: ParcelKind;
  reference: string;
  orderId: string;
  from: Parcel['from'];
  to: Parcel['to'];
  lines: ParcelLine[];
  service?: string;
}

export class ParcelBook {
  private readonly parcels = new Map<string, Parcel>();

  constructor(
    private readonly sink: EventSink,
    private readonly random: () => number = Math.random,
  ) {}

  book(input: BookingInput, exceptionRate: number): Parcel {
    const address = 'address' in input.to ? input.to.address : 'address' in input.from ? input.from.address : undefined;
    const now = new Date().toISOString();
    const parcel: Parcel = {
      id: newId('shp'),
      kind: input.kind,
      reference: input.reference,
      orderId: input.orderId,
      // Twelve digits and a check letter, the look of a real tracking number.
      trackingNumber: `SBX${String(randomInt(0, 1e12)).padStart(12, '0')}${'ABCDEFGHJKLMNPRSTUVWXYZ'[randomInt(0, 23)]}`,
      scenario: address ? scenarioOf(address, exceptionRate, this.random) : 'normal',
      from: input.from,
      to: input.to,
      lines: input.lines,
      ...(input.service ? { service: input.service } : {}),
      status: 'booked',
      step: 0,
      createdAt: now,
      updatedAt: now,
    };
    this.parcels.set(parcel.id, parcel);
    return parcel;
  }

  parcel(id: string): Parcel {
    const parcel = this.parcels.get(id);
    if (!parcel) throw new CarrierError(404, 'shipment_not_found', 'no such shipment');
    return parcel;
  }

  find(filter: { orderId?: string; reference?: string }): Parcel[] {
    return [...this.parcels.values()].filter((p) => (!filter.orderId || p.orderId === filter.orderId) && (!filter.reference || p.reference === filter.reference));
  }

  /** The next step of the parcel's scenario, or undefined when it has none left (delivered, stuck, never collected). */
  nextStep(id: string): TrackingEventType | undefined {
    const parcel = this.parcel(id);
    return stepsOf(parcel)[parcel.step];
  }

  /** Moves the parcel one step along its scenario; undefined when there is nothing left to do. */
  advance(id: string): CarrierTrackingEvent | undefined {
    const type = this.nextStep(id);
    if (!type) return undefined;
    const parcel = this.parcel(id);
    parcel.step++;
    return this.emit(id, type, type === 'exception' ? exceptionDetail : undefined);
  }

  /**
   * An event now (or at `occurredAt`), whatever the scenario says: what a test route uses to deliver a
   * parcel after an exception, return it to sender, or send events in an order of its choosing.
   */
  emit(id: string, type: TrackingEventType, detail?: string, occurredAt?: string): CarrierTrackingEvent {
    const parcel = this.parcel(id);
    const index = stepsOf(parcel).indexOf(type);
    if (index >= parcel.step) parcel.step = index + 1;
    parcel.status = type;
    parcel.updatedAt = new Date().toISOString();
    const event: CarrierTrackingEvent = {
      id: newId('evt'),
      type,
      occurredAt: occurredAt ?? parcel.updatedAt,
      data: {
        carrierShipmentId: parcel.id,
        trackingNumber: parcel.trackingNumber,
        reference: parcel.reference,
        kind: parcel.kind,
        ...(detail ? { detail } : {}),
      },
    };
    this.sink(event);
    return event;
  }
}

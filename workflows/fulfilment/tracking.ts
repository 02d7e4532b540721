/**
 * How one parcel's carrier events move it: a pure state machine (no SDK, no I/O) the fulfilment workflow
 * runs on every event, unit-tested on its own (test/fulfilment/tracking.test.ts).
 *
 * Carriers send events late, twice and out of order, so:
 * - an event id seen before changes nothing (a duplicate);
 * - the steps picked up → in transit → out for delivery → delivered only move forward: an event for a
 *   step at or behind the current one is ignored, one ahead moves the parcel there and counts every step
 *   it jumped over as passed (a `delivered` that overtakes `picked_up` still means the parcel shipped);
 * - `exception` is a step aside: it holds unless a forward step that *happened later* arrives, and an
 *   exception that happened before the latest step taken is stale;
 * - `delivered` and `returned_to_sender` are final: nothing after them changes the parcel.
 */
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';

export const parcelStages = ['booked', 'picked_up', 'in_transit', 'out_for_delivery', 'delivered'] as const;
export type ParcelStage = (typeof parcelStages)[number];

export interface ParcelTracking {
  stage: ParcelStage;
  /** Set by `returned_to_sender`: the parcel came back instead of arriving. */
  returnedToSender: boolean;
  exception?: { occurredAt: string; detail?: string };
  /** `occurredAt` of the latest step taken (ISO 8601). */
  lastStepAt?: string;
  /** When the parcel was delivered, by the carrier's clock. */
  deliveredAt?: string;
  /** Carrier event ids already taken, applied or not. */
  seen: string[];
}

/** What a parcel shows: its stage, or the exception or return it is held by. */
export type ParcelStatus = ParcelStage | 'exception' | 'returned_to_sender';

export interface TrackingStep {
  tracking: ParcelTracking;
  /** False when the event changed nothing (duplicate, backwards, stale, after the end). */
  applied: boolean;
  /** Why it was ignored, for the record. */
  ignoredBecause?: 'duplicate' | 'behind' | 'stale' | 'final';
  /** Stages newly passed by this event, in order (several when an event overtook others). */
  passed: ParcelStage[];
  /** The event put the parcel in exception. */
  exception: boolean;
  /** The event cleared an exception. */
  recovered: boolean;
  returnedToSender: boolean;
}

export const newParcelTracking = (): ParcelTracking => ({ stage: 'booked', returnedToSender: false, seen: [] });

const rank = (stage: ParcelStage) => parcelStages.indexOf(stage);
const isStage = (type: string): type is ParcelStage => (parcelStages as readonly string[]).includes(type);
const time = (iso: string | undefined) => (iso === undefined ? Number.NEGATIVE_INFINITY : Date.parse(iso));

export function statusOf(tracking: ParcelTracking): ParcelStatus {
  if (tracking.returnedToSender) return 'returned_to_sender';
  if (tracking.stage === 'delivered') return 'delivered';
  return tracking.exception ? 'exception' : tracking.stage;
}

export const isFinal = (tracking: ParcelTracking) => tracking.returnedToSender || tracking.stage === 'delivered';

export function applyCarrierEvent(current: ParcelTracking, event: Pick<CarrierTrackingEvent, 'id' | 'type' | 'occurredAt' | 'data'>): TrackingStep {
  const ignored = (because: TrackingStep['ignoredBecause'], tracking = current): TrackingStep => ({
    tracking,
    applied: false,
    ignoredBecause: because,
    passed: [],
    exception: false,
    recovered: false,
    returnedToSender: false,
  });
  if (current.seen.includes(event.id)) return ignored('duplicate');
  const tracking: ParcelTracking = { ...current, seen: [...current.seen, event.id] };
  if (isFinal(current)) return ignored('final', tracking);

  if (isStage(event.type)) {
    if (rank(event.type) <= rank(current.stage)) return ignored('behind', tracking);
    const passed = parcelStages.slice(rank(current.stage) + 1, rank(event.type) + 1);
    tracking.stage = event.type;
    if (time(event.occurredAt) > time(tracking.lastStepAt)) tracking.lastStepAt = event.occurredAt;
    if (event.type === 'delivered') tracking.deliveredAt = event.occurredAt;
    // Only a step that happened after the exception shows the carrier got the parcel moving again.
    const recovered = current.exception !== undefined && (event.type === 'delivered' || time(event.occurredAt) > time(current.exception.occurredAt));
    if (recovered) delete tracking.exception;
    return { tracking, applied: true, passed, exception: false, recovered, returnedToSender: false };
  }

  if (event.type === 'exception') {
    if (time(event.occurredAt) < time(current.lastStepAt)) return ignored('stale', tracking);
    if (current.exception && time(event.occurredAt) <= time(current.exception.occurredAt)) return ignored('stale', tracking);
    tracking.exception = { occurredAt: event.occurredAt, ...(event.data.detail ? { detail: event.data.detail } : {}) };
    return { tracking, applied: true, passed: [], exception: true, recovered: false, returnedToSender: false };
  }

  // returned_to_sender: the parcel's journey ends without a delivery.
  tracking.returnedToSender = true;
  delete tracking.exception;
  return { tracking, applied: true, passed: [], exception: false, recovered: false, returnedToSender: true };
}

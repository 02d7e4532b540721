/**
 * The parcel state machine on its own (workflows/fulfilment/tracking.ts): carriers send events late,
 * twice and out of order, and a parcel must still only move forward.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CarrierTrackingEvent, TrackingEventType } from '../../fulfilment/carrier';
import { applyCarrierEvent, newParcelTracking, statusOf, type ParcelTracking } from '../../workflows/fulfilment/tracking';

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 5, 10, minute)).toISOString();
const event = (type: TrackingEventType, minute: number, id = `evt_${++seq}`, detail?: string): CarrierTrackingEvent => ({
  id,
  type,
  occurredAt: at(minute),
  data: { carrierShipmentId: 'shp_1', trackingNumber: 'SBX1', reference: 'ship-1', kind: 'outbound', ...(detail ? { detail } : {}) },
});

function run(events: CarrierTrackingEvent[], from: ParcelTracking = newParcelTracking()) {
  let tracking = from;
  const steps = events.map((e) => {
    const step = applyCarrierEvent(tracking, e);
    tracking = step.tracking;
    return step;
  });
  return { tracking, steps };
}

describe('parcel tracking state machine', () => {
  test('in order: each step moves the parcel forward and is passed once', () => {
    const { tracking, steps } = run([event('picked_up', 1), event('in_transit', 2), event('out_for_delivery', 3), event('delivered', 4)]);
    assert.deepEqual(steps.map((s) => s.passed), [['picked_up'], ['in_transit'], ['out_for_delivery'], ['delivered']]);
    assert.equal(statusOf(tracking), 'delivered');
    assert.equal(tracking.deliveredAt, at(4));
  });

  test('a duplicate event id changes nothing and says so', () => {
    const first = event('picked_up', 1, 'evt_dup');
    const { steps, tracking } = run([first, { ...first }]);
    assert.equal(steps[1]!.applied, false);
    assert.equal(steps[1]!.ignoredBecause, 'duplicate');
    assert.deepEqual(steps[1]!.passed, []);
    assert.equal(tracking.stage, 'picked_up');
  });

  test('the same step under another event id is ignored as behind, not applied twice', () => {
    const { steps } = run([event('picked_up', 1), event('picked_up', 1)]);
    assert.equal(steps[1]!.applied, false);
    assert.equal(steps[1]!.ignoredBecause, 'behind');
  });

  test('out of order: a later step overtakes, the earlier ones are counted as passed, and their late arrival is ignored', () => {
    const { tracking, steps } = run([event('in_transit', 2), event('picked_up', 1), event('delivered', 4), event('out_for_delivery', 3)]);
    assert.deepEqual(steps.map((s) => s.applied), [true, false, true, false]);
    assert.deepEqual(steps[0]!.passed, ['picked_up', 'in_transit']);
    assert.deepEqual(steps[2]!.passed, ['out_for_delivery', 'delivered']);
    assert.equal(statusOf(tracking), 'delivered');
  });

  test('an exception holds the parcel until a step that happened later; a step from before it does not clear it', () => {
    const { tracking, steps } = run([event('picked_up', 1), event('exception', 5, undefined, 'address not found'), event('in_transit', 3)]);
    assert.equal(steps[1]!.exception, true);
    assert.equal(steps[2]!.applied, true, 'in_transit still moves the stage');
    assert.equal(steps[2]!.recovered, false);
    assert.equal(statusOf(tracking), 'exception');
    assert.equal(tracking.exception?.detail, 'address not found');
    const later = applyCarrierEvent(tracking, event('out_for_delivery', 9));
    assert.equal(later.recovered, true);
    assert.equal(statusOf(later.tracking), 'out_for_delivery');
  });

  test('a stale exception (older than the latest step taken) is ignored', () => {
    const { steps, tracking } = run([event('picked_up', 1), event('out_for_delivery', 6), event('exception', 4)]);
    assert.equal(steps[2]!.applied, false);
    assert.equal(steps[2]!.ignoredBecause, 'stale');
    assert.equal(statusOf(tracking), 'out_for_delivery');
  });

  test('delivered is final: an exception or a return after it changes nothing', () => {
    const { steps, tracking } = run([event('delivered', 4), event('exception', 8), event('returned_to_sender', 9)]);
    assert.deepEqual(steps.map((s) => s.applied), [true, false, false]);
    assert.equal(steps[1]!.ignoredBecause, 'final');
    assert.deepEqual(steps[0]!.passed, ['picked_up', 'in_transit', 'out_for_delivery', 'delivered']);
    assert.equal(statusOf(tracking), 'delivered');
  });

  test('returned to sender is final and clears an exception', () => {
    const { steps, tracking } = run([event('picked_up', 1), event('exception', 2), event('returned_to_sender', 5), event('delivered', 6)]);
    assert.equal(steps[2]!.returnedToSender, true);
    assert.equal(steps[3]!.applied, false);
    assert.equal(statusOf(tracking), 'returned_to_sender');
    assert.equal(tracking.exception, undefined);
  });

  test('the input state is never mutated (the workflow keeps the old one until the activity succeeds)', () => {
    const before = newParcelTracking();
    const frozen = structuredClone(before);
    applyCarrierEvent(before, event('delivered', 1));
    assert.deepEqual(before, frozen);
  });
});

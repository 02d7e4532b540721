/**
 * The pure rules of a return and the return workflow's state transitions, tested directly: what may be
 * returned, whether an inspection fits, what accepted units are worth, and how the workflow takes in
 * carrier events, receipts and decisions that come early, late, twice or for someone else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkInspection, checkReturnLines, paidFor, returnableQuantities, returnWindowIssue } from '../../returns/rules';
import type { CarrierTrackingEvent, ReturnState } from '../../workflows/returns/definitions';
import { acceptInspection, applyParcelEvent, applyReceipt } from '../../workflows/returns/state';

const bought = [
  { sku: 'MUG', quantity: 3, lineAmount: 4500 },
  { sku: 'TEAPOT', quantity: 1, lineAmount: 8900 },
];

describe('what may be returned', () => {
  test('bought minus what earlier returns claimed', () => {
    const returnable = returnableQuantities(bought, [{ sku: 'MUG', quantity: 2 }, { sku: 'GHOST', quantity: 5 }]);
    assert.deepEqual(returnable.get('MUG'), { bought: 3, claimed: 2, returnable: 1 });
    assert.deepEqual(returnable.get('TEAPOT'), { bought: 1, claimed: 0, returnable: 1 });
    assert.equal(returnable.has('GHOST'), false, 'a claim on a SKU the order never had adds nothing');
  });

  test('each bad line is named by its field', () => {
    const returnable = returnableQuantities(bought, [{ sku: 'MUG', quantity: 1 }]);
    assert.deepEqual(checkReturnLines([{ sku: 'MUG', quantity: 2 }, { sku: 'TEAPOT', quantity: 1 }], returnable), []);
    const issues = checkReturnLines(
      [
        { sku: 'MUG', quantity: 3 },
        { sku: 'NOPE', quantity: 1 },
        { sku: 'TEAPOT', quantity: 2 },
        { sku: 'TEAPOT', quantity: 1 },
        { sku: 'MUG', quantity: 0 },
      ],
      returnable,
    );
    assert.deepEqual(
      issues.map((issue) => issue.field),
      ['lines.0.quantity', 'lines.1.sku', 'lines.2.quantity', 'lines.3.sku', 'lines.4.sku'],
    );
    assert.match(issues[0]!.message, /at most 2 .* 3 bought, 1 already returned/);
    assert.match(issues[2]!.message, /at most 1 can be returned/);
    assert.deepEqual(checkReturnLines([], returnable).map((issue) => issue.field), ['lines']);
  });

  test('the return window: only once COMPLETED, until it ends', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.deepEqual(returnWindowIssue({ status: 'SHIPPED', returnWindowEndsAt: null }, now), { kind: 'not_delivered' });
    assert.equal(returnWindowIssue({ status: 'COMPLETED', returnWindowEndsAt: new Date('2026-03-10T12:00:00Z') }, now), undefined, 'the last instant still counts');
    const ended = new Date('2026-03-10T11:59:59Z');
    assert.deepEqual(returnWindowIssue({ status: 'COMPLETED', returnWindowEndsAt: ended }, now), { kind: 'closed', endedAt: ended });
  });
});

describe('what accepted units are worth', () => {
  test('their share of the line, rounded down, never more than the line', () => {
    const line = { sku: 'ODD', quantity: 3, lineAmount: 1000 };
    assert.equal(paidFor(line, 0), 0);
    assert.equal(paidFor(line, 1), 333);
    assert.equal(paidFor(line, 2), 666);
    assert.equal(paidFor(line, 3), 1000);
    assert.equal(paidFor(line, 1) + paidFor(line, 2) <= 1000, true);
    assert.equal(paidFor(bought[0]!, 2), 3000);
  });
});

describe('an inspection decision', () => {
  const returned = [
    { sku: 'MUG', quantity: 2 },
    { sku: 'TEAPOT', quantity: 1 },
  ];

  test('fits when every returned line is decided once, accepted + rejected = returned', () => {
    assert.deepEqual(checkInspection(returned, [{ sku: 'MUG', accepted: 1, rejected: 1 }, { sku: 'TEAPOT', accepted: 0, rejected: 1 }]), []);
  });

  test('names what does not fit', () => {
    const issues = checkInspection(returned, [{ sku: 'MUG', accepted: 2, rejected: 1 }, { sku: 'SPOON', accepted: 1, rejected: 0 }]);
    assert.deepEqual(issues.map((issue) => issue.field), ['lines.0.accepted', 'lines.1.sku', 'lines']);
    assert.match(issues[2]!.message, /TEAPOT is missing/);
    assert.deepEqual(checkInspection(returned, [{ sku: 'MUG', accepted: -1, rejected: 3 }, { sku: 'TEAPOT', accepted: 1, rejected: 0 }]).map((i) => i.field), ['lines.0.accepted']);
  });
});

describe('the return workflow state', () => {
  const fresh = (): ReturnState => ({
    returnId: 'r-1',
    orderId: 'o-1',
    status: 'authorised',
    reason: null,
    carrierShipmentId: 'cs-1',
    trackingNumber: 'TRK',
    parcelEvents: [],
    receivedVia: null,
    inspection: null,
    refund: null,
  });
  const event = (id: string, type: CarrierTrackingEvent['type'], extra: Partial<CarrierTrackingEvent['data']> = {}): CarrierTrackingEvent => ({
    id,
    type,
    occurredAt: '2026-03-01T10:00:00Z',
    data: { carrierShipmentId: 'cs-1', trackingNumber: 'TRK', reference: 'r-1', kind: 'return', ...extra },
  });

  test('only a delivered event of this return parcel receives it; duplicates and strangers are ignored', () => {
    const state = fresh();
    assert.equal(applyParcelEvent(state, event('e1', 'in_transit')), undefined);
    assert.equal(state.receivedVia, null);
    assert.equal(applyParcelEvent(state, event('e2', 'delivered', { reference: 'r-2' })), 'event of another parcel');
    assert.equal(applyParcelEvent(state, event('e3', 'delivered', { kind: 'outbound' })), 'event of another parcel');
    assert.equal(state.receivedVia, null);
    assert.equal(applyParcelEvent(state, event('e4', 'delivered')), undefined);
    assert.equal(state.receivedVia, 'carrier');
    assert.equal(applyParcelEvent(state, event('e4', 'delivered')), 'duplicate');
    assert.deepEqual(state.parcelEvents.map((e) => e.id), ['e1', 'e4']);
    // Ops saying so afterwards changes nothing: the first word is kept.
    applyReceipt(state, 'ops');
    assert.equal(state.receivedVia, 'carrier');
  });

  test('a receipt after the return expired is ignored', () => {
    const state = { ...fresh(), status: 'expired' as const };
    applyReceipt(state, 'ops');
    applyParcelEvent(state, event('late', 'delivered'));
    assert.equal(state.receivedVia, null);
  });

  test('the first inspection that fits is kept', () => {
    const state = fresh();
    const returned = [{ sku: 'MUG', quantity: 2 }];
    assert.match(acceptInspection(state, returned, { lines: [{ sku: 'MUG', accepted: 2, rejected: 2 }] })!, /accepted \+ rejected/);
    assert.equal(state.inspection, null);
    assert.equal(acceptInspection(state, returned, { lines: [{ sku: 'MUG', accepted: 1, rejected: 1 }], note: 'one chipped' }), undefined);
    assert.equal(acceptInspection(state, returned, { lines: [{ sku: 'MUG', accepted: 2, rejected: 0 }] }), 'already decided');
    assert.deepEqual(state.inspection, { lines: [{ sku: 'MUG', accepted: 1, rejected: 1 }], note: 'one chipped' });
  });
});

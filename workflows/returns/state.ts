/**
 * How the return workflow takes in what it is told, as pure functions over its state (no SDK imports),
 * unit-tested directly. Each answers why it ignored a message, or undefined when it took it in.
 */
import { checkInspection, type RequestedLine } from '../../returns/rules';
import type { CarrierTrackingEvent, InspectionDecision, ReturnState } from './definitions';

/** Statuses in which the parcel is still expected: news of it arriving counts only then. */
const awaitingParcel = new Set<ReturnState['status']>(['requested', 'authorised']);

/**
 * A tracking event of the return parcel: kept once by id; `delivered` means the parcel reached the
 * warehouse. Events of another parcel, or of an outbound shipment, are not this return's business.
 */
export function applyParcelEvent(state: ReturnState, event: CarrierTrackingEvent | undefined): string | undefined {
  if (!event || typeof event.id !== 'string' || !event.data) return 'malformed event';
  if (event.data.kind !== 'return' || event.data.reference !== state.returnId) return 'event of another parcel';
  if (state.parcelEvents.some((seen) => seen.id === event.id)) return 'duplicate';
  state.parcelEvents.push({ id: event.id, type: event.type, occurredAt: event.occurredAt });
  if (event.type === 'delivered') applyReceipt(state, 'carrier');
  return undefined;
}

/** The parcel is back; the first word (carrier or ops) is the one recorded, and only while it was expected. */
export function applyReceipt(state: ReturnState, via: 'carrier' | 'ops'): void {
  if (state.receivedVia === null && awaitingParcel.has(state.status)) state.receivedVia = via;
}

/** The first inspection decision that fits the returned lines is kept; later ones change nothing. */
export function acceptInspection(state: ReturnState, returned: readonly RequestedLine[], decision: InspectionDecision | undefined): string | undefined {
  if (state.inspection) return 'already decided';
  if (!decision || !Array.isArray(decision.lines)) return 'malformed decision';
  const issues = checkInspection(returned, decision.lines);
  if (issues.length > 0) return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
  state.inspection = {
    lines: decision.lines.map(({ sku, accepted, rejected }) => ({ sku, accepted, rejected })),
    ...(typeof decision.note === 'string' ? { note: decision.note } : {}),
  };
  return undefined;
}

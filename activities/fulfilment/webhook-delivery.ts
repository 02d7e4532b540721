/**
 * Handing a stored carrier event to its workflow: the fulfilment workflow of the shipment's order for an
 * outbound parcel (`carrierEvent`), the return's workflow for a return parcel (`returnParcelEvent`). Used
 * by the shipment webhook route right after it stores the event, and by the inbox sweeper for what the
 * route could not deliver. Delivering twice is harmless — both workflows ignore an event id they have
 * seen — so the two never need to agree on who goes first.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { shipmentOfCarrierEvent } from '../../db/fulfilment';
import { recordWebhookAttempt, type WebhookStatus } from '../../db/payments';
import { returnById } from '../../db/returns';
import { trackingEventTypes, type CarrierTrackingEvent } from '../../fulfilment/carrier';
import type { Executor } from '../../platform/postgres';
import { withTemporalTimeout } from '../../platform/temporal';
import { finalReturnStatuses } from '../../returns/statuses';
import { carrierEventSignal, fulfilmentWorkflowId } from '../../workflows/fulfilment/definitions';
import { returnParcelEventSignal, returnWorkflowId } from '../../workflows/returns/definitions';

/** The provider name the inbox files sandbox carrier events under. */
export const carrierWebhookProvider = 'sandbox-carrier';

/** What a carrier event must look like before it is stored; anything else is the sender's bug (422). */
export const carrierWebhookEventSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(trackingEventTypes),
  occurredAt: z.iso.datetime({ offset: true }),
  data: z
    .object({
      carrierShipmentId: z.string().min(1).max(200),
      trackingNumber: z.string().min(1).max(100),
      reference: z.string().min(1).max(200),
      kind: z.enum(['outbound', 'return']),
      detail: z.string().max(500).optional(),
    })
    .passthrough(),
});

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ShipmentDeliveryDeps {
  db: Executor;
  client: Client;
  /** `config.TASK_QUEUE_PREFIX`: part of every workflow id. */
  prefix: string;
  /** Past this, the attempt counts as failed and the event stays pending for the sweeper. */
  signalTimeoutMs: number;
}

export interface ShipmentDeliveryOutcome {
  status: WebhookStatus;
  /** The order the event is about, when known (for the route's log line). */
  orderId?: string;
  error?: string;
}

async function signal(deps: ShipmentDeliveryDeps, workflowId: string, send: () => Promise<void>): Promise<'sent' | 'not_found' | { error: string }> {
  try {
    await withTemporalTimeout(deps.client, deps.signalTimeoutMs, send);
    return 'sent';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'not_found';
    return { error: `signal to ${workflowId} failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Signals the event to its workflow and says what became of it; never throws for Temporal's sake. */
export async function signalShipmentEvent(deps: ShipmentDeliveryDeps, event: CarrierTrackingEvent): Promise<ShipmentDeliveryOutcome> {
  if (event.data.kind === 'return') {
    const returnId = event.data.reference;
    const workflowId = returnWorkflowId(deps.prefix, returnId);
    const sent = await signal(deps, workflowId, () => deps.client.workflow.getHandle(workflowId).signal(returnParcelEventSignal, event));
    if (sent === 'sent') return { status: 'delivered' };
    if (sent !== 'not_found') return { status: 'pending', error: sent.error };
    const row = uuidPattern.test(returnId) ? await returnById(deps.db, returnId) : undefined;
    if (!row) return { status: 'orphaned', error: `no return ${returnId} for carrier parcel ${event.data.carrierShipmentId}` };
    // News about a return that has ended changes nothing, unless it ended for want of that very parcel.
    if (finalReturnStatuses.includes(row.status) && row.status !== 'expired' && row.status !== 'cancelled') {
      return { status: 'delivered', orderId: row.orderId, error: `return workflow already closed (${row.status}); ${event.type} changes nothing` };
    }
    return { status: 'orphaned', orderId: row.orderId, error: `return workflow ${workflowId} closed with status ${row.status}; ${event.type} needs review` };
  }

  const shipment = await shipmentOfCarrierEvent(deps.db, { reference: event.data.reference, carrierShipmentId: event.data.carrierShipmentId });
  if (!shipment) return { status: 'orphaned', error: `no shipment ${event.data.reference} (carrier parcel ${event.data.carrierShipmentId})` };
  const workflowId = fulfilmentWorkflowId(deps.prefix, shipment.orderId);
  const sent = await signal(deps, workflowId, () => deps.client.workflow.getHandle(workflowId).signal(carrierEventSignal, event));
  if (sent === 'sent') return { status: 'delivered', orderId: shipment.orderId };
  if (sent !== 'not_found') return { status: 'pending', orderId: shipment.orderId, error: sent.error };
  // The order's fulfilment has finished: a parcel that was delivered or given up has nothing left to hear.
  if (shipment.status === 'delivered' || shipment.status === 'cancelled') {
    return { status: 'delivered', orderId: shipment.orderId, error: `fulfilment already closed; shipment is ${shipment.status}, ${event.type} changes nothing` };
  }
  return { status: 'orphaned', orderId: shipment.orderId, error: `fulfilment workflow ${workflowId} closed with shipment ${shipment.status}; ${event.type} needs review` };
}

/** Delivers one stored carrier event (the inbox sweeper's step) and records the attempt on its row. */
export async function deliverStoredShipmentEvent(deps: ShipmentDeliveryDeps, row: { id: number; payload: Record<string, unknown> }): Promise<ShipmentDeliveryOutcome> {
  const parsed = carrierWebhookEventSchema.safeParse(row.payload);
  // Stored only after this very check; a row that fails it was written by something else and needs a person.
  const outcome: ShipmentDeliveryOutcome = parsed.success ? await signalShipmentEvent(deps, parsed.data as CarrierTrackingEvent) : { status: 'orphaned', error: 'stored payload is not a carrier event' };
  await recordWebhookAttempt(deps.db, row.id, outcome);
  return outcome;
}

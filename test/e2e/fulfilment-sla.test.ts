/**
 * The 48-hour pick-up SLA on skipped time: the API, every worker, the sandbox payment provider and the
 * sandbox carrier run for real, against Temporal's time-skipping test server. Parcels whose address
 * carries the carrier's no-pick-up marker are never collected; two days pass on the server's clock (not
 * ours), the fulfilment workflows escalate to ops, and ops' decisions take each parcel on from there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { shipments } from '../../db/schema/fulfilment';
import { searchAttributes } from '../../temporal-config/search-attributes';
import { json } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { carrierTestMarkers } from '../support/sandbox-carrier';
import { createWorkerContext } from '../../workers/runtime';
import { freePort, testConfig } from '../support/stack';
import { address, startStage, type Stage } from '../fulfilment/stage';

const hour = 3_600_000;
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

describe('fulfilment pick-up SLA (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let stage: Stage;
  let ops: SignedIn;

  before(async () => {
    // The Temporal runtime is process-wide and must be installed (by a worker context) before the test server's own.
    const warm = await createWorkerContext(testConfig('fulfilment-sla-runtime', { WORKER_METRICS_PORT: String(await freePort()) }));
    await warm.close();
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER_PATH! } } });
    // The test server keeps no search attributes of its own: register the ones the workflows keep current.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.entries(searchAttributes).map(([name, type]) => [name, IndexedValueType[`INDEXED_VALUE_TYPE_${type}`]])),
    });
    stage = await startStage({ name: 'fulfilment-sla', config: { TEMPORAL_ADDRESS: env.connection.options.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' } });
    ops = await signedInAs(stage.config, 'ops');
    await stage.product('LAMP', 2500, { paris: 20 });
  });
  after(async () => {
    await stage?.stop();
    await env?.teardown();
  });

  test('not picked up within 48 h → escalated to ops; "wait" restarts the clock, "reship" books a new parcel; both end COMPLETED', async () => {
    const customer = await signedInAs(stage.config, 'customer');
    const idle = { ...address, line2: carrierTestMarkers.noPickup };
    const waiting = await stage.paidOrder(customer, { [stage.sku('LAMP')]: 1 }, idle);
    const rebooked = await stage.paidOrder(customer, { [stage.sku('LAMP')]: 2 }, idle);
    const booked = async (orderId: string) => stage.fulfilmentState(orderId, (s) => s.shipments[0]?.status === 'booked' && s.shipments[0]?.pickupDueAt !== undefined, 'booking');
    const first = await booked(waiting.orderId);
    await booked(rebooked.orderId);
    const [shipment] = first.shipments;
    assert.equal(Date.parse(shipment!.pickupDueAt!) - Date.parse(shipment!.bookedAt!), 48 * hour);
    const stockAfterBooking = await stage.stock(stage.sku('LAMP'));

    const startedAt = await env.currentTimeMs();
    const wallStart = Date.now();
    await env.sleep('47 hours');
    const early = await stage.fulfilmentHandle(waiting.orderId).query('fulfilmentState');
    assert.equal((early as { status: string }).status, 'in_progress', 'not escalated before 48 h');

    await env.sleep('2 hours');
    const escalated = await stage.fulfilmentState(waiting.orderId, (s) => s.status === 'escalated', 'escalation');
    assert.equal(escalated.shipments[0]!.attention, 'pickup_overdue');
    assert.equal(escalated.shipments[0]!.pickupDueAt, undefined, 'the clock stops while ops decide');
    await stage.fulfilmentState(rebooked.orderId, (s) => s.status === 'escalated', 'escalation');
    const skipped = (await env.currentTimeMs()) - startedAt;
    assert.ok(skipped >= 49 * hour, `server time advanced ${skipped} ms`);
    assert.ok(Date.now() - wallStart < skipped, 'the two days were skipped, not waited for');
    const [row] = await stage.db.select().from(shipments).where(eq(shipments.id, shipment!.shipmentId));
    assert.equal(row?.attention, 'pickup_overdue');
    const listed = await json<{ shipments: { id: string; attention: string }[] }>(await fetch(stage.url('/v1/admin/shipments/escalated?attention=pickup_overdue'), { headers: ops.headers }), 200);
    assert.ok(listed.shipments.some((s) => s.id === shipment!.shipmentId));

    // Ops chase the carrier and wait: another 48 h from the decision.
    const decide = (orderId: string, shipmentId: string, decision: string) => stage.post(`/v1/admin/orders/${orderId}/shipments/${shipmentId}/decision`, { decision }, ops.headers);
    assert.equal((await decide(waiting.orderId, shipment!.shipmentId, 'wait')).status, 202);
    const resumed = await stage.fulfilmentState(waiting.orderId, (s) => s.status === 'in_progress' && s.shipments[0]!.pickupDueAt !== undefined, 'clock restarted');
    const decidedAt = Date.parse(resumed.shipments[0]!.decisions[0]!.at);
    assert.equal(Date.parse(resumed.shipments[0]!.pickupDueAt!) - decidedAt, 48 * hour);
    // The carrier finally collects it: the clock stops for good, and the parcel goes on to delivery.
    const [parcel] = await stage.parcels(waiting.orderId);
    await stage.carrier.emit(parcel!.id, 'picked_up');
    await stage.untilStatus(customer, waiting.orderId, ['SHIPPED']);
    await stage.carrier.emit(parcel!.id, 'delivered');
    await stage.untilStatus(customer, waiting.orderId, ['COMPLETED']);

    // The other one is rebooked: a new parcel with the same lines; its units never left the shelf, so none are taken again.
    const escalatedToo = await stage.fulfilmentHandle(rebooked.orderId).query('fulfilmentState');
    const oldId = (escalatedToo as { shipments: { shipmentId: string }[] }).shipments[0]!.shipmentId;
    assert.equal((await decide(rebooked.orderId, oldId, 'reship')).status, 202);
    const replaced = await stage.fulfilmentState(rebooked.orderId, (s) => s.shipments.length === 2 && s.shipments[1]!.status === 'booked', 'replacement booked');
    assert.equal(replaced.shipments[0]!.status, 'cancelled');
    assert.deepEqual(replaced.shipments[1]!.lines, [{ sku: stage.sku('LAMP'), quantity: 2 }]);
    assert.deepEqual(await stage.stock(stage.sku('LAMP')), stockAfterBooking);
    const replacement = (await stage.parcels(rebooked.orderId, 2)).find((p) => p.reference === replaced.shipments[1]!.shipmentId)!;
    await stage.carrier.emit(replacement.id, 'picked_up');
    await stage.carrier.emit(replacement.id, 'delivered');
    await stage.untilStatus(customer, rebooked.orderId, ['COMPLETED']);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { reserveStock } from '../../db/inventory-reservations';
import { insertOrder } from '../../db/orders';
import { auditLog } from '../../db/schema/identity';
import { reservations } from '../../db/schema/inventory';
import { orderRecords } from '../../db/schema/orders';
import { connectPostgres } from '../../platform/postgres';
import { checkoutWorkflowId, checkoutWorkflowType, orderReconciliationWorkflowType } from '../../workflows/orders/definitions';
import { ensureOrderReconciliationSchedule } from '../../workers/orders-schedules';
import { startWorker, testConfig } from '../support/stack';

const config = testConfig('reconciliation');
const postgres = connectPostgres(config.DATABASE_URL, { max: 4 });
const db = postgres.db;
const run = randomUUID().slice(0, 8).toUpperCase();
const sku = `REC-${run}`;

async function order(status: 'PAYMENT_PENDING' | 'PAID', workflowId: string): Promise<string> {
  const id = randomUUID();
  await reserveStock(db, id, [{ sku, quantity: 1 }], { ttlSeconds: 86_400 });
  await insertOrder(
    db,
    { id, cartId: randomUUID(), accountId: randomUUID(), status, currency: 'EUR', subtotalAmount: 1000, shippingAmount: 0, taxAmount: 167, totalAmount: 1000, shippingMethod: 'standard', shippingCountry: 'FR', workflowId },
    [{ sku, title: 'Thing', quantity: 1, unitAmount: 1000, lineAmount: 1000, taxAmount: 167 }],
  );
  await db.update(orderRecords).set({ updatedAt: sql`now() - interval '40 minutes'` }).where(eq(orderRecords.id, id));
  return id;
}

const statusOf = async (id: string) => (await db.select().from(orderRecords).where(eq(orderRecords.id, id)))[0]!;
const openUnits = async (orderId: string) =>
  (await db.select().from(reservations).where(and(eq(reservations.orderId, orderId), sql`${reservations.releasedAt} IS NULL`))).reduce((sum, row) => sum + row.quantity, 0);
const flags = async (orderId: string) => (await db.select().from(auditLog).where(and(eq(auditLog.targetId, orderId), eq(auditLog.action, 'ops.order_flagged')))).map((row) => row.details);

describe('order reconciliation', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let client: Client;
  before(async () => {
    await db.transaction((tx) =>
      upsertProduct(tx, { slug: `rec-${run.toLowerCase()}`, title: 'Thing', description: '', status: 'published', attributes: {}, categories: [], variants: [{ sku, title: 'Thing', options: {}, prices: [{ currency: 'EUR', amount: 1000 }] }] }),
    );
    await setStockLevels(db, [{ sku, location: 'paris', onHand: 100 }]);
    worker = await startWorker(config);
    client = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE });
  });
  after(async () => {
    await worker?.stop();
    await postgres.close();
  });

  test('repairs what it can, flags what needs a human, and leaves running checkouts alone', async () => {
    // 1. Units held for an order that never came.
    const orphan = randomUUID();
    await reserveStock(db, orphan, [{ sku, quantity: 2 }], { ttlSeconds: 86_400 });
    await db.update(reservations).set({ createdAt: sql`now() - interval '40 minutes'` }).where(eq(reservations.orderId, orphan));
    // 2. Waiting for a payment, but its checkout is gone and nothing was captured.
    const abandoned = await order('PAYMENT_PENDING', `${config.TASK_QUEUE_PREFIX}checkout-${randomUUID()}`);
    // 3. Paid, checkout gone: money was taken, a human decides.
    const paid = await order('PAID', `${config.TASK_QUEUE_PREFIX}checkout-${randomUUID()}`);
    // 4. Quiet for a while, but its checkout is still running (waiting for its update).
    const runningId = checkoutWorkflowId(config.TASK_QUEUE_PREFIX, randomUUID());
    await client.workflow.start(checkoutWorkflowType, { workflowId: runningId, taskQueue: config.taskQueues.orders, args: [{ cartId: randomUUID(), accountId: randomUUID(), paymentTaskQueue: config.taskQueues.payments }] });
    const alive = await order('PAYMENT_PENDING', runningId);

    const scheduleId = await ensureOrderReconciliationSchedule(worker.context);
    assert.equal((await client.schedule.getHandle(scheduleId).describe()).spec.intervals?.[0]?.every, 600_000);
    await client.schedule.getHandle(scheduleId).delete();

    const first = await client.workflow.execute(orderReconciliationWorkflowType, { workflowId: `${config.TASK_QUEUE_PREFIX}reconcile-${randomUUID()}`, taskQueue: config.taskQueues.orders, args: [] });
    const mine = (first as { findings: { orderId: string; kind: string; action: string }[] }).findings.filter((finding) => [orphan, abandoned, paid, alive].includes(finding.orderId));
    assert.deepEqual(
      mine.map((finding) => [finding.orderId, finding.kind, finding.action]).sort(),
      [
        [orphan, 'reservation_without_order', 'released'],
        [abandoned, 'checkout_missing', 'failed'],
        [paid, 'paid_not_confirmed', 'flagged'],
      ].sort(),
    );
    assert.equal(await openUnits(orphan), 0);
    assert.equal((await statusOf(abandoned)).status, 'FAILED');
    assert.equal(await openUnits(abandoned), 0);
    assert.equal((await statusOf(paid)).status, 'PAID', 'a paid order is never changed behind a human');
    assert.equal(await openUnits(paid), 1);
    assert.equal((await statusOf(alive)).status, 'PAYMENT_PENDING');
    assert.equal(await openUnits(alive), 1);
    assert.equal((await flags(abandoned)).length, 1);

    // A second pass repairs nothing more: the repaired orders are no longer stuck.
    const second = await client.workflow.execute(orderReconciliationWorkflowType, { workflowId: `${config.TASK_QUEUE_PREFIX}reconcile-${randomUUID()}`, taskQueue: config.taskQueues.orders, args: [] });
    const again = (second as { findings: { orderId: string; action: string }[] }).findings.filter((finding) => [orphan, abandoned, alive].includes(finding.orderId));
    assert.deepEqual(again, []);
    await client.workflow.getHandle(runningId).terminate('test over');
  });
});

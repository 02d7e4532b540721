/**
 * Finds orders stuck between states and repairs what can be repaired without a human; the rest is
 * flagged in the audit log (`ops.order_flagged`) for ops to look at in the Web UI.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { appendAudit } from '../../db/audit';
import { releaseReservation } from '../../db/inventory-reservations';
import { setOrderStatus } from '../../db/orders';
import { releaseRedemptions } from '../../db/promotions';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';

export interface ReconciliationFinding {
  kind: 'reservation_without_order' | 'checkout_missing' | 'paid_not_confirmed' | 'captured_but_not_paid';
  orderId: string;
  action: 'released' | 'failed' | 'flagged';
  detail?: string;
}

const quietMinutes = 30;

export function createReconciliationActivities({ db, config, logger }: { db: Database; config: Pick<Config, 'pii'>; logger: Logger }) {
  async function flag(finding: ReconciliationFinding): Promise<ReconciliationFinding> {
    await appendAudit(db, { actorType: 'system', action: 'ops.order_flagged', targetType: 'order', targetId: finding.orderId, details: { kind: finding.kind, action: finding.action, detail: finding.detail ?? null } });
    logger.warn(finding, 'order flagged by reconciliation');
    return finding;
  }

  /** Closed or missing: nobody is driving this order any more. */
  async function checkoutIsGone(workflowId: string): Promise<boolean> {
    try {
      const description = await Context.current().client.workflow.getHandle(workflowId).describe();
      return description.status.name !== 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return true;
      throw error;
    }
  }

  return {
    /**
     * Idempotent: a repaired order is no longer stuck, and flagging twice only adds a second note.
     * Looks only at what has been quiet for a while, so it never races a checkout in progress.
     */
    async reconcileOrders(input: { limit: number }): Promise<ReconciliationFinding[]> {
      const findings: ReconciliationFinding[] = [];

      // Units held for an order that never came (a checkout that died between reserving and creating it).
      const orphans = await db.execute<{ order_id: string }>(sql`
        SELECT DISTINCT r.order_id FROM inventory.reservations r
        WHERE r.released_at IS NULL AND r.committed_at IS NULL AND r.created_at < now() - make_interval(mins => ${quietMinutes})
          AND NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.id = r.order_id)
        LIMIT ${input.limit}`);
      for (const { order_id: orderId } of orphans) {
        // A checkout creates its order right after reserving: half an hour later with no order, it died in between.
        await releaseReservation(db, orderId, 'reconciliation: no order');
        findings.push(await flag({ kind: 'reservation_without_order', orderId, action: 'released' }));
      }

      // Orders in the middle of their life whose checkout workflow is no longer running.
      const quiet = await db.execute<{ id: string; status: string; workflow_id: string; captured: string | null }>(sql`
        SELECT o.id, o.status, o.workflow_id,
               (SELECT sum(amount) FROM payments.ledger_entries l WHERE l.order_id = o.id AND l.kind = 'captured') AS captured
        FROM orders.orders o
        WHERE o.status IN ('PENDING', 'PAYMENT_PENDING', 'AWAITING_CONFIRMATION', 'FRAUD_REVIEW', 'PAID')
          AND o.updated_at < now() - make_interval(mins => ${quietMinutes})
        ORDER BY o.updated_at LIMIT ${input.limit}`);
      for (const order of quiet) {
        if (!(await checkoutIsGone(order.workflow_id))) continue;
        const captured = Number(order.captured ?? 0);
        if (order.status === 'PAID' || captured > 0) {
          // Money was taken: only a human decides between shipping and refunding.
          findings.push(await flag({ kind: order.status === 'PAID' ? 'paid_not_confirmed' : 'captured_but_not_paid', orderId: order.id, action: 'flagged', detail: `status ${order.status}, captured ${captured}` }));
          continue;
        }
        // Nothing was captured: the order cannot complete any more, so it fails and gives its units back.
        await db.transaction(async (tx) => {
          await setOrderStatus(tx, config, order.id, 'FAILED', 'reconciliation: the checkout ended without settling the order');
          await releaseReservation(tx, order.id, 'reconciliation: checkout gone');
          await releaseRedemptions(tx, order.id);
        });
        findings.push(await flag({ kind: 'checkout_missing', orderId: order.id, action: 'failed', detail: `was ${order.status}` }));
      }
      return findings;
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;

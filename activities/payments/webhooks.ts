import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { lockPendingWebhooks, recordWebhookAttempt } from '../../db/payments';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import type { WebhookDrainResult } from '../../workflows/payments/definitions';
import { carrierWebhookProvider, deliverStoredShipmentEvent } from '../fulfilment/webhook-delivery';
import { deliverStoredEvent, sandboxWebhookProvider, type WebhookDeliveryDeps, type WebhookDeliveryOutcome } from './webhook-delivery';

/**
 * How a stored event of each partner reaches its workflow. The inbox is shared by every partner, and so
 * is this sweeper: the payment provider's events go to payment workflows, the carrier's to fulfilment
 * and return workflows.
 */
const deliverers: Record<string, (deps: WebhookDeliveryDeps, row: { id: number; payload: Record<string, unknown> }) => Promise<WebhookDeliveryOutcome>> = {
  [sandboxWebhookProvider]: deliverStoredEvent,
  [carrierWebhookProvider]: deliverStoredShipmentEvent,
};

const pollIntervalMs = 1_000;
const signalTimeoutMs = 5_000;

export interface WebhookActivityDeps {
  db: Database;
  logger: Logger;
  /** Signals the payment workflows. */
  client: Client;
  /** `config.TASK_QUEUE_PREFIX`. */
  prefix: string;
}

/**
 * The inbox sweeper: provider events stored by the webhook route but not yet handed to their workflow
 * (Temporal was down, the API died between storing and signalling) are delivered here. Idempotent: a
 * row is marked only after its signal, under a row lock, and a repeated signal is ignored by the workflow.
 */
export function createWebhookActivities({ db, logger, client, prefix }: WebhookActivityDeps) {
  return {
    /**
     * Delivers pending events older than `graceMs` until a batch delivers something or `idleWaitMs` has
     * passed, waiting (and heartbeating) while there is nothing to do.
     */
    async deliverPendingWebhooks(input: { batchSize: number; idleWaitMs: number; graceMs: number }): Promise<WebhookDrainResult> {
      const deadline = Date.now() + input.idleWaitMs;
      for (;;) {
        const result: WebhookDrainResult = { delivered: 0, orphaned: 0, stillPending: 0 };
        await db.transaction(async (tx) => {
          const rows = await lockPendingWebhooks(tx, { receivedBefore: new Date(Date.now() - input.graceMs), limit: input.batchSize });
          for (const row of rows) {
            Context.current().heartbeat();
            const deliver = deliverers[row.provider];
            const outcome = deliver ? await deliver({ db: tx, client, prefix, signalTimeoutMs }, row) : { status: 'orphaned' as const, error: `no delivery for provider ${row.provider}` };
            if (!deliver) await recordWebhookAttempt(tx, row.id, outcome);
            if (outcome.status === 'delivered') result.delivered++;
            else if (outcome.status === 'orphaned') result.orphaned++;
            else result.stillPending++;
            if (outcome.status === 'orphaned') logger.warn({ provider: row.provider, eventId: row.eventId, eventType: row.eventType, reason: outcome.error }, 'partner webhook orphaned');
          }
        });
        if (result.delivered + result.orphaned > 0) {
          logger.info(result, 'pending payment webhooks delivered');
          return result;
        }
        if (result.stillPending > 0) {
          // Temporal still unreachable: let the retry policy's backoff pace the attempts; the rows stay pending.
          throw new Error(`${result.stillPending} payment webhooks could not be delivered yet`);
        }
        if (Date.now() >= deadline) return result;
        Context.current().heartbeat();
        await Context.current().sleep(pollIntervalMs);
      }
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;

import type { Executor } from '../platform/postgres';
import { outbox, type CatalogEventType } from './schema/catalog';
import { stockOutbox } from './schema/inventory';

/** Call inside the transaction that made the change: the event exists if and only if the change does. */
export async function recordCatalogEvent(
  tx: Executor,
  event: { type: CatalogEventType; aggregateId: string; payload?: { slug?: string; previousSlug?: string; path?: string } },
): Promise<void> {
  await tx.insert(outbox).values({ eventType: event.type, aggregateId: event.aggregateId, payload: event.payload ?? {} });
}

export async function recordStockChanges(tx: Executor, skus: string[]): Promise<void> {
  if (skus.length === 0) return;
  await tx.insert(stockOutbox).values([...new Set(skus)].map((sku) => ({ sku })));
}

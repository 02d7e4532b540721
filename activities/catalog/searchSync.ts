import { Context } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import type { Logger } from '../../platform/logger';
import { traced } from '../../platform/telemetry';
import { buildSearchDocuments, searchDocumentsAfter } from '../../search/documents';
import { bumpSearchGeneration, publishSearchGeneration } from '../../search/generation';
import type { SearchIndex } from '../../search/types';
import type { OutboxDrainResult } from '../../workflows/catalog/definitions';

export interface SearchSyncActivityDeps {
  sql: postgres.Sql;
  redis: Redis;
  search: SearchIndex;
  logger: Logger;
}

type Tx = postgres.TransactionSql;

/**
 * Outbox drains and reindex batches take this lock for their whole transaction, so two of them never
 * interleave: the one that writes a document last always read the catalog last.
 */
const takeSearchWriteLock = (tx: Tx) => tx`SELECT pg_advisory_xact_lock(hashtext('catalog.search-index-writes'))`;

const pollIntervalMs = 250;

interface CatalogEventRow {
  id: number;
  event_type: string;
  aggregate_id: string;
  payload: { slug?: string; previousSlug?: string; path?: string };
}

/**
 * The products an outbox batch touches: products named by catalog events, the products of a changed
 * category and its subcategories, and the products owning SKUs whose stock changed.
 */
async function affectedProducts(tx: Tx, events: CatalogEventRow[], skus: string[]): Promise<string[]> {
  const ids = new Set(events.filter((e) => e.event_type !== 'category.changed').map((e) => e.aggregate_id));
  const paths = events.filter((e) => e.event_type === 'category.changed' && e.payload.path).map((e) => e.payload.path!);
  const categoryIds = events.filter((e) => e.event_type === 'category.changed').map((e) => e.aggregate_id);
  if (paths.length > 0 || categoryIds.length > 0) {
    const rows = await tx<{ product_id: string }[]>`
      SELECT DISTINCT pc.product_id FROM catalog.product_categories pc JOIN catalog.categories c ON c.id = pc.category_id
      WHERE c.id = ANY(${tx.array(categoryIds)}::uuid[])
         OR EXISTS (SELECT 1 FROM unnest(${tx.array(paths)}::text[]) p WHERE c.path = p OR c.path LIKE p || '/%')`;
    for (const row of rows) ids.add(row.product_id);
  }
  if (skus.length > 0) {
    const rows = await tx<{ product_id: string }[]>`
      SELECT DISTINCT product_id FROM catalog.variants WHERE sku = ANY(${tx.array(skus)}::text[])`;
    for (const row of rows) ids.add(row.product_id);
  }
  return [...ids].sort();
}

/**
 * Keeps the search index and the read cache in step with the catalog. Every activity here is
 * idempotent: documents are rebuilt from the catalog as it is now, never from the event's content.
 */
export function createSearchSyncActivities({ sql, redis, search, logger }: SearchSyncActivityDeps) {
  /** One batch from each outbox, or null when both are empty. */
  async function drainOnce(batchSize: number): Promise<OutboxDrainResult | null> {
    return sql.begin(async (tx) => {
      await takeSearchWriteLock(tx);
      const events = await tx<CatalogEventRow[]>`
        SELECT id, event_type, aggregate_id, payload FROM catalog.outbox
        WHERE processed_at IS NULL ORDER BY id LIMIT ${batchSize}`;
      const stock = await tx<{ id: number; sku: string }[]>`
        SELECT id, sku FROM inventory.outbox WHERE processed_at IS NULL ORDER BY id LIMIT ${batchSize}`;
      if (events.length === 0 && stock.length === 0) return null;

      const productIds = await affectedProducts(tx, events, [...new Set(stock.map((row) => row.sku))]);
      const documents = await buildSearchDocuments(tx as unknown as postgres.Sql, productIds);
      const kept = new Set(documents.map((d) => d.id));
      // Deleted or unpublished: out of the index.
      const gone = productIds.filter((id) => !kept.has(id));
      for (const target of await search.writeTargets()) {
        await search.upsert(target, documents);
        await search.remove(target, gone);
      }
      if (documents.length > 0 || gone.length > 0) await bumpSearchGeneration(tx, search.alias);

      const slugs = new Set(documents.map((d) => d.slug));
      for (const event of events) {
        if (event.payload.slug) slugs.add(event.payload.slug);
        if (event.payload.previousSlug) slugs.add(event.payload.previousSlug);
      }
      if (gone.length > 0) {
        const rows = await tx<{ slug: string }[]>`SELECT slug FROM catalog.products WHERE id = ANY(${tx.array(gone)}::uuid[])`;
        for (const row of rows) slugs.add(row.slug);
      }
      const keys = [...slugs].map(catalogCacheKeys.productBySlug);
      if (events.length > 0) keys.push(catalogCacheKeys.categoryTree());
      // Before the rows are marked: if Redis fails, the rows stay pending and the drain is retried.
      if (keys.length > 0) await redis.del(...keys);

      if (events.length > 0) {
        await tx`UPDATE catalog.outbox SET processed_at = now() WHERE id = ANY(${tx.array(events.map((e) => e.id))}::bigint[]) AND processed_at IS NULL`;
      }
      if (stock.length > 0) {
        await tx`UPDATE inventory.outbox SET processed_at = now() WHERE id = ANY(${tx.array(stock.map((s) => s.id))}::bigint[]) AND processed_at IS NULL`;
      }
      return { catalogEvents: events.length, stockEvents: stock.length, indexed: documents.length, removed: gone.length };
    }) as Promise<OutboxDrainResult | null>;
  }

  return {
    /**
     * Drains one batch from each outbox in id order. When both are empty it waits up to `idleWaitMs`
     * for rows (heartbeating), so the workflow does not need a timer per poll.
     */
    async drainSearchOutbox(input: { batchSize: number; idleWaitMs: number }): Promise<OutboxDrainResult> {
      await search.ensureLive();
      // Also repairs a publication lost when Redis failed right after an earlier drain committed.
      await publishSearchGeneration(sql, redis, search.alias);
      const deadline = Date.now() + input.idleWaitMs;
      for (;;) {
        const result = await traced('search.drainOutbox', { 'comptoir.batch_size': input.batchSize }, () => drainOnce(input.batchSize));
        if (result) {
          // Committed: cached search results from before it may now be retired.
          if (result.indexed > 0 || result.removed > 0) await publishSearchGeneration(sql, redis, search.alias);
          logger.debug(result, 'search outbox drained');
          return result;
        }
        if (Date.now() >= deadline) return { catalogEvents: 0, stockEvents: 0, indexed: 0, removed: 0 };
        Context.current().heartbeat();
        // Throws when the activity is cancelled (worker shutting down), leaving nothing half-done.
        await Context.current().sleep(pollIntervalMs);
      }
    },

    async beginReindex(input: { reindexId: string }): Promise<{ indexName: string }> {
      await search.ensureLive();
      const indexName = `${search.alias}__${input.reindexId}`;
      // Under the lock: a drain either ran before (the build reads its result from the catalog) or
      // after (it writes to the new index too).
      await sql.begin(async (tx) => {
        await takeSearchWriteLock(tx);
        await search.createBuildIndex(indexName);
      });
      return { indexName };
    },

    async reindexBatch(input: { indexName: string; afterId: string | null; batchSize: number }): Promise<{ lastId: string | null; indexed: number }> {
      return sql.begin(async (tx) => {
        await takeSearchWriteLock(tx);
        const documents = await searchDocumentsAfter(tx as unknown as postgres.Sql, input.afterId, input.batchSize);
        await search.upsert(input.indexName, documents);
        return { lastId: documents.length === input.batchSize ? documents.at(-1)!.id : null, indexed: documents.length };
      }) as Promise<{ lastId: string | null; indexed: number }>;
    },

    async swapSearchIndex(input: { indexName: string }): Promise<{ replaced: string | null }> {
      const swapped = await search.swapLive(input.indexName);
      // Repeating this on a retry only retires cached results once more.
      await bumpSearchGeneration(sql, search.alias);
      await publishSearchGeneration(sql, redis, search.alias);
      logger.info({ live: input.indexName, replaced: swapped.replaced }, 'search index swapped');
      return swapped;
    },

    async dropSearchIndex(input: { indexName: string }): Promise<void> {
      await search.dropIndex(input.indexName);
    },
  };
}

export type SearchSyncActivities = ReturnType<typeof createSearchSyncActivities>;

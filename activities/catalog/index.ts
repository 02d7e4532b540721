import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import { SkuOwnedByAnotherProductError, upsertProduct } from '../../db/catalog';
import {
  countRowOutcomes,
  loadImportRows,
  markImportCompleted,
  markImportRunning,
  recordRowOutcome,
} from '../../db/imports';
import type { Database } from '../../platform/postgres';
import type { Logger } from '../../platform/logger';
import { traced } from '../../platform/telemetry';
import type { ImportBatchResult, ImportCounts, StockLevel } from '../../workflows/catalog/definitions';
import { parseCategoryPath, validateImportRow } from './importRow';

export interface CatalogActivityDeps {
  db: Database;
  logger: Logger;
}

/**
 * Catalog activities. Each is idempotent: a retry after a crash, or the same rows imported again,
 * converges on the same stored state and returns the same answer.
 */
export function createCatalogActivities({ db, logger }: CatalogActivityDeps) {
  return {
    async beginImport(importId: string): Promise<{ totalRows: number }> {
      const record = await traced('db.markImportRunning', { 'comptoir.import_id': importId }, () => markImportRunning(db, importId));
      if (!record) throw ApplicationFailure.nonRetryable(`Import ${importId} does not exist`, 'ImportNotFound');
      return { totalRows: record.totalRows };
    },

    async importBatch(input: { importId: string; fromRow: number; toRow: number }): Promise<ImportBatchResult> {
      const rows = await traced('db.loadImportRows', { 'comptoir.import_id': input.importId }, () =>
        loadImportRows(db, input.importId, input.fromRow, input.toRow),
      );
      const result: ImportBatchResult = { importedRows: 0, failedRows: 0, stock: [] };
      await traced('db.importBatch', { 'comptoir.import_id': input.importId, 'comptoir.rows': rows.length }, () =>
        db.transaction(async (tx) => {
          for (const row of rows) {
            Context.current().heartbeat(row.rowNumber);
            const validation = validateImportRow(row.payload);
            if (!validation.ok) {
              await recordRowOutcome(tx, input.importId, row.rowNumber, { status: 'failed', errors: validation.errors });
              result.failedRows++;
              continue;
            }
            const product = validation.product;
            try {
              // A savepoint per row: one bad row rolls back alone and the batch goes on.
              await tx.transaction((row) =>
                upsertProduct(row, { ...product, categories: product.categories.map(parseCategoryPath) }),
              );
            } catch (error) {
              if (!(error instanceof SkuOwnedByAnotherProductError)) throw error;
              await recordRowOutcome(tx, input.importId, row.rowNumber, {
                status: 'failed',
                errors: [{ field: error.field, message: error.message }],
              });
              result.failedRows++;
              continue;
            }
            await recordRowOutcome(tx, input.importId, row.rowNumber, { status: 'imported' });
            result.importedRows++;
            for (const variant of product.variants) {
              for (const level of variant.stock) result.stock.push({ sku: variant.sku, location: level.location, onHand: level.onHand });
            }
          }
        }),
      );
      logger.debug({ importId: input.importId, fromRow: input.fromRow, toRow: input.toRow, ...result, stock: result.stock.length }, 'import batch done');
      return result;
    },

    async completeImport(importId: string): Promise<ImportCounts & { status: 'completed'; totalRows: number }> {
      return traced('db.completeImport', { 'comptoir.import_id': importId }, async () => {
        const counts = await countRowOutcomes(db, importId);
        const record = await markImportCompleted(db, importId, counts);
        // Fresh planner statistics: right after a large import, stale ones make listings pick sequential scans.
        await db.execute(sql`ANALYZE catalog.products, catalog.variants, catalog.prices, catalog.product_categories, catalog.categories`);
        if (!record) throw ApplicationFailure.nonRetryable(`Import ${importId} does not exist`, 'ImportNotFound');
        return {
          status: 'completed',
          totalRows: record.totalRows,
          processedRows: record.totalRows,
          importedRows: counts.imported,
          failedRows: counts.failed,
        };
      });
    },
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
export type { StockLevel };

import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CatalogActivities } from '../../activities/catalog/index';
import type { InventoryActivities } from '../../activities/inventory/index';
import { activityPresets } from '../activity-presets';
import { importProgressQuery, type CatalogImportInput, type ImportProgress } from './definitions';

const catalog = proxyActivities<CatalogActivities>(activityPresets.databaseBatch);
const inventory = proxyActivities<InventoryActivities>(activityPresets.databaseWrite);

/**
 * Imports the rows stored with an accepted import, batch by batch. A bad row is recorded against the
 * import and skipped; it never fails the whole import.
 */
export async function catalogImport(input: CatalogImportInput): Promise<ImportProgress> {
  const progress: ImportProgress = {
    importId: input.importId,
    status: 'running',
    totalRows: 0,
    processedRows: input.resumeFrom?.processedRows ?? 0,
    importedRows: input.resumeFrom?.importedRows ?? 0,
    failedRows: input.resumeFrom?.failedRows ?? 0,
  };
  setHandler(importProgressQuery, () => progress);

  const { totalRows } = await catalog.beginImport(input.importId);
  progress.totalRows = totalRows;

  while (progress.processedRows < totalRows) {
    const fromRow = progress.processedRows;
    const toRow = Math.min(fromRow + input.batchSize, totalRows);
    const batch = await catalog.importBatch({ importId: input.importId, fromRow, toRow });
    if (batch.stock.length > 0) await inventory.setStockLevels(batch.stock);

    progress.processedRows = toRow;
    progress.importedRows += batch.importedRows;
    progress.failedRows += batch.failedRows;

    if (workflowInfo().continueAsNewSuggested && progress.processedRows < totalRows) {
      const { processedRows, importedRows, failedRows } = progress;
      await continueAsNew<typeof catalogImport>({ ...input, resumeFrom: { processedRows, importedRows, failedRows } });
    }
  }

  const summary = await catalog.completeImport(input.importId);
  Object.assign(progress, summary);
  return progress;
}

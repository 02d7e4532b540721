import { defineQuery } from '@temporalio/workflow';

/** Names stored in workflow histories: never rename once released. */
export const catalogImportWorkflowType = 'catalogImport';

export const catalogImportWorkflowId = (importId: string): string => `catalog-import-${importId}`;

export type ImportStatus = 'received' | 'running' | 'completed' | 'failed';

export interface CatalogImportInput {
  importId: string;
  batchSize: number;
  /** Set when the workflow continues as new: where the previous run stopped. */
  resumeFrom?: ImportCounts;
}

export interface ImportCounts {
  processedRows: number;
  importedRows: number;
  failedRows: number;
}

export interface ImportProgress extends ImportCounts {
  importId: string;
  status: ImportStatus;
  totalRows: number;
}

export interface StockLevel {
  sku: string;
  location: string;
  onHand: number;
}

export interface ImportBatchResult {
  importedRows: number;
  failedRows: number;
  /** Stock lines of the rows imported, handed to the inventory domain. */
  stock: StockLevel[];
}

export const importProgressQuery = defineQuery<ImportProgress>('importProgress');

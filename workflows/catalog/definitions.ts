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

/** The one long-running workflow that keeps search and the read cache in step with the outboxes. */
export const searchIndexSyncWorkflowType = 'searchIndexSync';
export const reindexWorkflowType = 'reindex';

/** `search-index-sync` in production; the task-queue prefix keeps test files sharing one namespace apart. */
export const searchIndexSyncWorkflowId = (prefix = ''): string => `${prefix}search-index-sync`;
export const reindexWorkflowId = (reindexId: string, prefix = ''): string => `${prefix}search-reindex-${reindexId}`;

export interface SearchSyncCounts {
  drains: number;
  catalogEvents: number;
  stockEvents: number;
  indexed: number;
  removed: number;
}

export interface SearchIndexSyncInput {
  /** Outbox rows per drain, from each outbox. */
  batchSize: number;
  /** How long a drain waits for rows when both outboxes are empty before it returns empty-handed. */
  idleWaitMs: number;
  resumeFrom?: SearchSyncCounts;
}

export interface OutboxDrainResult {
  catalogEvents: number;
  stockEvents: number;
  indexed: number;
  removed: number;
}

export interface ReindexInput {
  /** Names the new physical index; the reindex workflow id carries it too. */
  reindexId: string;
  batchSize: number;
  resumeFrom?: { afterId: string | null; indexed: number };
}

export interface ReindexResult {
  indexName: string;
  indexed: number;
  replaced: string | null;
}

export const searchSyncProgressQuery = defineQuery<SearchSyncCounts>('searchSyncProgress');

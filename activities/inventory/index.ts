import { setStockLevels } from '../../db/inventory';
import type { Database } from '../../platform/postgres';
import { traced } from '../../platform/telemetry';
import type { StockLevel } from '../../workflows/catalog/definitions';

export interface InventoryActivityDeps {
  db: Database;
}

export function createInventoryActivities({ db }: InventoryActivityDeps) {
  return {
    /** Idempotent: levels are absolute, so applying the same list twice changes nothing the second time. */
    async setStockLevels(levels: StockLevel[]): Promise<void> {
      await traced('db.setStockLevels', { 'comptoir.levels': levels.length }, () => setStockLevels(db, levels));
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;

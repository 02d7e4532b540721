import { setStockLevels } from '../../db/inventory';
import type { Database } from '../../platform/postgres';
import { createLogger, type Logger } from '../../platform/logger';
import { traced } from '../../platform/telemetry';
import type { StockLevel } from '../../workflows/catalog/definitions';
import { createReservationActivities } from './reservations';

export interface InventoryActivityDeps {
  db: Database;
  /** Silent when left out (tests building the activities by hand). */
  logger?: Logger;
}

export function createInventoryActivities({ db, logger = createLogger({ level: 'silent', name: 'inventory' }) }: InventoryActivityDeps) {
  return {
    /** Idempotent: levels are absolute, so applying the same list twice changes nothing the second time. */
    async setStockLevels(levels: StockLevel[]): Promise<void> {
      await traced('db.setStockLevels', { 'comptoir.levels': levels.length }, () => setStockLevels(db, levels));
    },
    // Reservations: reserveInventory, releaseInventory, commitInventory, extendInventoryReservation, expireStaleReservations.
    ...createReservationActivities({ db, logger }),
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;

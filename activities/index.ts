import type { Database } from '../platform/postgres';
import type { Logger } from '../platform/logger';
import { createCatalogActivities } from './catalog/index';
import { createInventoryActivities } from './inventory/index';

export interface ActivityDeps {
  db: Database;
  logger: Logger;
}

export const createActivities = {
  catalog: (deps: ActivityDeps) => ({ ...createCatalogActivities(deps), ...createInventoryActivities(deps) }),
};

import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import type postgres from 'postgres';
import type { Redis } from 'ioredis';
import { createSigningKeyActivities } from './signingKeys';
import { createPiiRotationActivities } from './piiRotation';
import { createGdprActivities } from './gdpr';
import { createNotificationActivities } from './notifications';

export interface IdentityActivityDeps {
  config: Config;
  db: Database;
  sql: postgres.Sql;
  redis: Redis;
  logger: Logger;
}

/** Everything the identity task queue runs. */
export function createIdentityActivities(deps: IdentityActivityDeps) {
  return {
    ...createSigningKeyActivities(deps),
    ...createNotificationActivities(deps),
    ...createPiiRotationActivities(deps), // pii: key rotation
    ...createGdprActivities(deps), // gdpr: export and erasure
  };
}

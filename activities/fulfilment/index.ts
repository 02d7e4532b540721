import type { Client } from '@temporalio/client';
import type { Carrier } from '../../fulfilment/carrier';
import { createSandboxCarrier } from '../../fulfilment/sandbox-carrier-adapter';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import { createFulfilmentActivities } from './fulfilment';

export interface FulfilmentQueueDeps {
  config: Config;
  db: Database;
  logger: Logger;
  /** Refunds go through the payment workflow's `refundPayment` update. */
  client: Client;
  /** The carrier adapter; by default the sandbox's, from CARRIER_URL / _API_KEY / _TIMEOUT_MS. */
  carrier?: Carrier;
}

export function carrierFrom(config: Config): Carrier {
  return createSandboxCarrier({ baseUrl: config.CARRIER_URL, apiKey: config.CARRIER_API_KEY, timeoutMs: config.CARRIER_TIMEOUT_MS });
}

export { createFulfilmentActivities };
export type { FulfilmentActivities, PlannedShipment } from './fulfilment';

import type { Client } from '@temporalio/client';
import { createSandboxProvider } from '../../payments/sandbox-adapter';
import type { PaymentProvider } from '../../payments/provider';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';
import { createPaymentActivities } from './payments';
import { createWebhookActivities } from './webhooks';

export interface PaymentsActivityDeps {
  config: Config;
  db: Database;
  logger: Logger;
  /** For the inbox sweeper, which signals payment workflows. */
  client: Client;
  /** The provider adapter; by default the sandbox's, from PAYMENT_PROVIDER_URL / _API_KEY / _TIMEOUT_MS. */
  provider?: PaymentProvider;
}

export function paymentProviderFrom(config: Config): PaymentProvider {
  return createSandboxProvider({ baseUrl: config.PAYMENT_PROVIDER_URL, apiKey: config.PAYMENT_PROVIDER_API_KEY, timeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS });
}

/** Everything the payments task queue runs. */
export function createPaymentsActivities(deps: PaymentsActivityDeps) {
  const provider = deps.provider ?? paymentProviderFrom(deps.config);
  return {
    ...createPaymentActivities({ db: deps.db, config: deps.config, logger: deps.logger, provider, client: deps.client }),
    ...createWebhookActivities({ db: deps.db, logger: deps.logger, client: deps.client, prefix: deps.config.TASK_QUEUE_PREFIX }),
  };
}

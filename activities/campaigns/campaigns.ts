import { ApplicationFailure, Context } from '@temporalio/activity';
import { languageOf } from '../../campaigns/definition';
import { countOutcomes, type ProgressCounts, type SettledStatus } from '../../campaigns/progress';
import {
  beginCampaignRun,
  campaignById,
  finishCampaignRun,
  lockRunPage,
  recipientsNow,
  settleDelivery,
  snapshotAudiencePage,
  type CampaignRow,
  type DeliveryRow,
  type Recipient,
  type RunStart,
} from '../../db/campaigns';
import { decryptEmail } from '../../identity/accounts';
import { renderCampaignMessage } from '../../notifications/campaign-template';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Database, Executor } from '../../platform/postgres';
import { queueCampaignMessage } from './outbox';

export interface CampaignActivityDeps {
  config: Config;
  db: Database;
  logger: Logger;
}

export interface RunRef {
  campaignId: string;
  /** The run's workflow id (stable across continue-as-new). */
  runKey: string;
}

export interface PageRequest extends RunRef {
  /** The last account id handled; null for the first page. */
  after: string | null;
  limit: number;
}

export interface AudiencePageResult {
  last: string | null;
  done: boolean;
  /** The run's audience snapshot so far. */
  audience: number;
}

export interface SendBatchResult {
  last: string | null;
  done: boolean;
  /** Recipients settled by this call (not those a crashed attempt had settled): what the pacing counts. */
  handled: number;
  /** Outcomes of every recipient of the page, including those a crashed attempt had settled. */
  counts: ProgressCounts;
}

/** Where links in messages point: the public address, or the local API in development. */
const baseUrlOf = (config: Pick<Config, 'PUBLIC_URL' | 'API_PORT'>) => config.PUBLIC_URL ?? `http://localhost:${config.API_PORT}`;

/** The campaign every step reads; its definition is frozen once launched. */
async function loadCampaign(db: Executor, campaignId: string): Promise<CampaignRow> {
  const campaign = await campaignById(db, campaignId);
  if (!campaign) throw ApplicationFailure.nonRetryable(`no campaign ${campaignId}`, 'CampaignNotFound');
  return campaign;
}

/**
 * The campaign activities. Each is idempotent: a retry after a crash (before or after the commit)
 * finds the rows its first attempt wrote and returns the same answer, which test/campaigns/activities
 * checks by calling each twice.
 */
export function createCampaignActivities(deps: CampaignActivityDeps) {
  const { config, db, logger } = deps;

  /** One recipient of the page, settled: consent and address checked now, the message queued in this transaction. */
  async function settle(tx: Executor, campaign: CampaignRow, row: DeliveryRow, recipient: Recipient | undefined): Promise<{ status: SettledStatus; reason?: string }> {
    if (!recipient || recipient.status !== 'active') return { status: 'failed', reason: 'account no longer active' };
    if (!recipient.consented) return { status: 'skipped_no_consent' };
    let email: string | undefined;
    if (campaign.channel === 'email') {
      try {
        email = decryptEmail(config, { id: recipient.accountId, emailEnc: recipient.emailEnc });
      } catch {
        // A key rotation gone wrong, not this campaign's business: recorded, never retried forever.
        return { status: 'failed', reason: 'email address unreadable' };
      }
      if (!email) return { status: 'failed', reason: 'no email address' };
    }
    const language = languageOf(recipient.language);
    const template = row.variant === 'B' && campaign.variantTemplate ? campaign.variantTemplate : campaign.template;
    const rendered = renderCampaignMessage(template[language], { language, channel: campaign.channel, baseUrl: baseUrlOf(config) });
    await queueCampaignMessage(tx, config, {
      channel: campaign.channel,
      campaignId: campaign.id,
      accountId: recipient.accountId,
      email,
      payload: { language, campaignId: campaign.id, variant: row.variant, ...rendered },
    });
    return { status: 'sent' };
  }

  return {
    async beginCampaignRun(input: RunRef): Promise<RunStart> {
      return db.transaction((tx) => beginCampaignRun(tx, input.campaignId, input.runKey));
    },

    /** Snapshots one page of the audience as pending delivery rows. */
    async addAudiencePage(input: PageRequest): Promise<AudiencePageResult> {
      Context.current().heartbeat();
      return db.transaction(async (tx) => snapshotAudiencePage(tx, await loadCampaign(tx, input.campaignId), input.runKey, { after: input.after, limit: input.limit }));
    },

    /**
     * Settles the run's next page of recipients in one transaction: each pending row becomes `sent` with
     * its message in the notification outbox (dedupe key `campaign:<id>:<account>`), or
     * `skipped_no_consent`, or `failed`. The same page on a retry (rows are locked and read in account
     * order whatever their state), so the counts returned are those of the page, exactly once.
     */
    async sendCampaignBatch(input: PageRequest): Promise<SendBatchResult> {
      Context.current().heartbeat();
      const result = await db.transaction(async (tx) => {
        const campaign = await loadCampaign(tx, input.campaignId);
        const rows = await lockRunPage(tx, input.campaignId, input.runKey, { after: input.after, limit: input.limit });
        const pending = rows.filter((row) => row.status === 'pending');
        const recipients = await recipientsNow(tx, campaign.channel, pending.map((row) => row.accountId));
        const outcomes = rows.filter((row) => row.status !== 'pending').map((row) => ({ status: row.status as string, variant: row.variant, count: 1 }));
        for (const row of pending) {
          const outcome = await settle(tx, campaign, row, recipients.get(row.accountId));
          await settleDelivery(tx, campaign.id, row.accountId, outcome);
          outcomes.push({ status: outcome.status, variant: row.variant, count: 1 });
          Context.current().heartbeat();
        }
        return { last: rows.at(-1)?.accountId ?? null, done: rows.length < input.limit, handled: pending.length, counts: countOutcomes(outcomes) };
      });
      if (result.handled > 0) logger.debug({ campaignId: input.campaignId, handled: result.handled, sent: result.counts.sent }, 'campaign batch settled');
      return result;
    },

    async finishCampaignRun(input: RunRef & { cancelled: boolean }): Promise<{ status: 'completed' | 'cancelled' }> {
      const status = await db.transaction((tx) => finishCampaignRun(tx, input.campaignId, input.runKey, input.cancelled));
      logger.info({ campaignId: input.campaignId, runKey: input.runKey, status }, 'campaign run finished');
      return { status };
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;

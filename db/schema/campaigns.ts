import { sql } from 'drizzle-orm';
import { boolean, char, check, index, integer, jsonb, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { AudienceFilter } from '../../campaigns/audience';
import type { CampaignRecurrence, CampaignTemplate } from '../../campaigns/definition';
import { timestamps } from './columns';
import { marketing } from './marketing';

export const campaignChannels = ['email', 'in_app'] as const;
export type CampaignChannel = (typeof campaignChannels)[number];

/**
 * `draft` (editable) → `scheduled` (launched: its Temporal Schedule exists) → `running` (a `campaign`
 * workflow run is going) → `completed`; a recurring campaign goes back to `scheduled` between runs.
 * `cancelled` from any state but `completed`. Pausing is a flag beside the status, because a campaign
 * can be paused before its run starts (the run then begins paused) as well as during it.
 */
export const campaignStatuses = ['draft', 'scheduled', 'running', 'completed', 'cancelled'] as const;
export type CampaignStatus = (typeof campaignStatuses)[number];

const list = (values: readonly string[]) => sql.raw(values.map((value) => `'${value}'`).join(', '));

/**
 * A marketing message to an audience: what it says (FR/EN, optionally a B variant for a share of the
 * recipients), to whom (a filter over customers, their orders and preferences, always narrowed to those
 * who consented to the channel), when (a start time, optionally recurring) and how fast (messages per
 * minute, in batches). The definition is frozen once launched: a run reads it from here.
 */
export const campaigns = marketing.table(
  'campaigns',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    channel: text('channel').$type<CampaignChannel>().notNull(),
    template: jsonb('template').$type<CampaignTemplate>().notNull(),
    /** The B variant's words; null without an A/B test. */
    variantTemplate: jsonb('variant_template').$type<CampaignTemplate>(),
    /** Share of recipients (1–99 %) who get the B variant. */
    variantPercent: integer('variant_percent'),
    audience: jsonb('audience').$type<AudienceFilter>().notNull().default({}),
    /** Null → as soon as it is launched. */
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }),
    /** Null → one run. */
    recurrence: jsonb('recurrence').$type<CampaignRecurrence>(),
    /** A recurring campaign runs no more after this. */
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }),
    ratePerMinute: integer('rate_per_minute').notNull(),
    batchSize: integer('batch_size').notNull(),
    status: text('status').$type<CampaignStatus>().notNull().default('draft'),
    paused: boolean('paused').notNull().default(false),
    scheduleId: text('schedule_id'),
    /** The workflow of the run in progress (a Schedule suffixes its start time to the id), for signals and queries. */
    currentWorkflowId: text('current_workflow_id'),
    runs: integer('runs').notNull().default(0),
    createdBy: uuid('created_by'),
    launchedAt: timestamp('launched_at', { withTimezone: true, mode: 'date' }),
    lastRunAt: timestamp('last_run_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (t) => [
    check('campaigns_channel', sql`${t.channel} IN (${list(campaignChannels)})`),
    check('campaigns_status', sql`${t.status} IN (${list(campaignStatuses)})`),
    check('campaigns_pace', sql`${t.ratePerMinute} > 0 AND ${t.batchSize} > 0`),
    check('campaigns_variant', sql`(${t.variantTemplate} IS NULL) = (${t.variantPercent} IS NULL) AND (${t.variantPercent} IS NULL OR ${t.variantPercent} BETWEEN 1 AND 99)`),
    check('campaigns_window', sql`${t.endsAt} IS NULL OR ${t.startsAt} IS NULL OR ${t.startsAt} < ${t.endsAt}`),
    index('campaigns_status_idx').on(t.status),
  ],
);

export const deliveryStatuses = ['pending', 'sent', 'skipped_no_consent', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export const campaignVariants = ['A', 'B'] as const;
export type CampaignVariant = (typeof campaignVariants)[number];

/**
 * One recipient of one campaign, ever: the primary key is what makes "at most one message per
 * recipient" hold whatever retries, crashes or recurring runs happen. A run first writes its audience
 * as `pending` rows (the snapshot), then settles them batch by batch: `sent` (queued to the notification
 * outbox in the same transaction), `skipped_no_consent` (consent withdrawn since the snapshot), `failed`
 * (nowhere to send it), or `cancelled` (the campaign was stopped first). `run_key` is the workflow id
 * of the run that took the recipient, so a retried batch finds exactly its own rows again.
 */
export const campaignDeliveries = marketing.table(
  'campaign_deliveries',
  {
    campaignId: uuid('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    accountId: uuid('account_id').notNull(),
    runKey: text('run_key').notNull(),
    variant: char('variant', { length: 1 }).$type<CampaignVariant>().notNull(),
    status: text('status').$type<DeliveryStatus>().notNull().default('pending'),
    /** Why a recipient was not reached; never personal data. */
    reason: text('reason'),
    decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    primaryKey({ columns: [t.campaignId, t.accountId] }),
    check('campaign_deliveries_status', sql`${t.status} IN (${list(deliveryStatuses)})`),
    check('campaign_deliveries_variant', sql`${t.variant} IN (${list(campaignVariants)})`),
    index('campaign_deliveries_run_idx').on(t.campaignId, t.runKey, t.accountId),
  ],
);

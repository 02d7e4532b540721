/**
 * The `campaign` workflow's contract, shared by the workflow, its activities, the admin API and ops
 * tooling. Names here are stored in workflow histories and Schedules: never rename one once released.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ProgressCounts } from '../../campaigns/progress';

export const campaignWorkflowType = 'campaign';

/** One Schedule per campaign; it starts runs as `<this id>-<scheduled time>`, which Temporal appends. */
export const campaignScheduleId = (prefix: string, campaignId: string): string => `${prefix}campaign-${campaignId}`;
export const campaignWorkflowIdBase = campaignScheduleId;

/** Ops find every run of a campaign, continued-as-new ones included: `CampaignId = "<id>"`. */
export const campaignSearchAttributes = {
  campaignId: defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD),
};

export interface CampaignWorkflowInput {
  campaignId: string;
  /** Batches (audience pages and sends together) per run before it continues as new. */
  batchesPerRun: number;
  /** Recipients written to the audience snapshot per page. */
  audiencePageSize: number;
  /** Set when the run continues as new: where the previous one stopped. */
  resume?: CampaignRunState;
}

export type CampaignPhase = 'audience' | 'sending' | 'done';

/** Everything a run carries across continue-as-new. */
export interface CampaignRunState {
  phase: CampaignPhase;
  paused: boolean;
  cancelled: boolean;
  ratePerMinute: number;
  batchSize: number;
  /** The last account id handled in the current phase (keyset pagination); null at its start. */
  cursor: string | null;
  /** Recipients in this run's audience snapshot. */
  audience: number;
  batches: number;
  /** How many times this run continued as new. */
  generation: number;
  counts: ProgressCounts;
}

/** The progress query's answer: counts are this run's (a recurring campaign's totals are in its delivery rows). */
export interface CampaignProgress extends ProgressCounts {
  campaignId: string;
  phase: CampaignPhase;
  paused: boolean;
  cancelled: boolean;
  audience: number;
  batches: number;
  generation: number;
}

export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');

/** From ops (`POST /v1/admin/campaigns/:id/pause`): stop after the batch in flight. Repeats are harmless. */
export const pauseCampaignSignal = defineSignal('pauseCampaign');
/** From ops (`…/resume`): go on where it stopped. */
export const resumeCampaignSignal = defineSignal('resumeCampaign');
/** From ops (`…/cancel`): stop after the batch in flight; recipients not reached yet are recorded `cancelled`. */
export const cancelCampaignSignal = defineSignal('cancelCampaign');

export type CampaignOutcome = { campaignId: string; status: 'completed' | 'cancelled'; audience: number } & ProgressCounts;

import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CampaignActivities } from '../../activities/campaigns/campaigns';
import { pauseAfterBatch } from '../../campaigns/pacing';
import { addProgress, noProgress } from '../../campaigns/progress';
import { activityPresets } from '../activity-presets';
import {
  campaignProgressQuery,
  cancelCampaignSignal,
  pauseCampaignSignal,
  resumeCampaignSignal,
  type CampaignOutcome,
  type CampaignProgress,
  type CampaignRunState,
  type CampaignWorkflowInput,
} from './definitions';

const books = proxyActivities<CampaignActivities>(activityPresets.databaseWrite);
// A page or a batch heartbeats: a worker killed mid-batch is noticed in seconds and the batch retried,
// which finds the rows its first attempt settled and settles only the rest.
const batches = proxyActivities<CampaignActivities>(activityPresets.databaseBatch);

/**
 * One run of a campaign, started by the campaign's Schedule (`campaign-<id>-<time>`):
 *
 * 1. Begin: the run is recorded on the campaign (or ends at once if the campaign was cancelled); a
 *    campaign paused before its start begins paused.
 * 2. Audience: the filter is evaluated page by page (keyset on account id) into `pending` delivery
 *    rows, one per recipient ever, so the audience is a snapshot and a recipient of an earlier run of a
 *    recurring campaign is not taken again.
 * 3. Sending: the snapshot is settled in batches, in account-id order, consent checked again for each
 *    recipient in the transaction that queues the message; batches are spaced to keep to the rate.
 * 4. Finish: the campaign is marked completed (or scheduled again when recurring, or cancelled).
 *
 * Pause, resume and cancel are signals, acted on between batches. The run continues as new every
 * `batchesPerRun` batches, carrying its cursor and counts.
 */
export async function campaign(input: CampaignWorkflowInput): Promise<CampaignOutcome> {
  const runKey = workflowInfo().workflowId;
  let state: CampaignRunState;
  if (input.resume) {
    state = input.resume;
  } else {
    const begun = await books.beginCampaignRun({ campaignId: input.campaignId, runKey });
    state = {
      phase: begun.proceed ? 'audience' : 'done',
      paused: begun.paused,
      cancelled: !begun.proceed,
      ratePerMinute: begun.ratePerMinute,
      batchSize: begun.batchSize,
      cursor: null,
      audience: 0,
      batches: 0,
      generation: 0,
      counts: noProgress(),
    };
  }

  setHandler(pauseCampaignSignal, () => void (state.paused = true));
  setHandler(resumeCampaignSignal, () => void (state.paused = false));
  setHandler(cancelCampaignSignal, () => void (state.cancelled = true));
  setHandler(campaignProgressQuery, (): CampaignProgress => ({
    campaignId: input.campaignId,
    phase: state.phase,
    paused: state.paused,
    cancelled: state.cancelled,
    audience: state.audience,
    batches: state.batches,
    generation: state.generation,
    ...state.counts,
  }));

  let steps = 0;
  while (state.phase !== 'done' && !state.cancelled) {
    await condition(() => !state.paused || state.cancelled);
    if (state.cancelled) break;
    if (steps >= input.batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof campaign>({ ...input, resume: { ...state, generation: state.generation + 1 } });
    }
    steps++;

    if (state.phase === 'audience') {
      const page = await batches.addAudiencePage({ campaignId: input.campaignId, runKey, after: state.cursor, limit: input.audiencePageSize });
      state.audience = page.audience;
      state.cursor = page.last;
      if (page.done) {
        state.phase = 'sending';
        state.cursor = null;
      }
      continue;
    }

    const started = Date.now();
    const batch = await batches.sendCampaignBatch({ campaignId: input.campaignId, runKey, after: state.cursor, limit: state.batchSize });
    state.counts = addProgress(state.counts, batch.counts);
    state.cursor = batch.last ?? state.cursor;
    state.batches++;
    if (batch.done) {
      state.phase = 'done';
      break;
    }
    // Spaced to the rate; a cancel cuts the wait short, a pause is honoured at the top of the loop.
    const pause = pauseAfterBatch(batch.handled, state.ratePerMinute, Date.now() - started);
    if (pause > 0) await condition(() => state.cancelled, pause);
  }

  const finished = await books.finishCampaignRun({ campaignId: input.campaignId, runKey, cancelled: state.cancelled });
  await condition(allHandlersFinished);
  return { campaignId: input.campaignId, status: finished.status, audience: state.audience, ...state.counts };
}

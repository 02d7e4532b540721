import { allHandlersFinished, condition, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PiiRotationActivities } from '../../activities/identity/piiRotation';
import { activityPresets } from '../activity-presets';

/** Names stored in workflow histories: never rename once released. */
export const piiKeyRotationWorkflowType = 'piiKeyRotation';
/** One rotation per target key: asking again while it runs finds the running one. */
export const piiKeyRotationWorkflowId = (prefix: string, targetKeyId: string): string => `${prefix}pii-key-rotation-${targetKeyId}`;

export interface PiiRotationCounts {
  batches: number;
  reencrypted: number;
  changedMeanwhile: number;
  unreadable: number;
  /** Values rewritten, per field of `identity/pii-fields.ts`. */
  reencryptedByField: Record<string, number>;
}

export interface PiiRotationProgress extends PiiRotationCounts {
  targetKeyId: string;
  /** The fields walked, in order, as they were when the rotation began. */
  fields: string[];
  /** Resume point: the field being walked and the last id done in it (null: from its start). */
  fieldIndex: number;
  lastId: string | null;
  /** The first ids that would not decrypt, for the operator (at most `unreadableSampleSize`). */
  unreadableSample: { field: string; id: string }[];
  /** Runs so far, this one included: each continue-as-new starts the next. */
  run: number;
  done: boolean;
}

export interface PiiKeyRotationInput {
  /** The key every value must end under: the current key of whoever asked. Workers with another current key wait. */
  targetKeyId: string;
  batchSize?: number;
  /** Batches per run before continuing as new, keeping each history short. */
  batchesPerRun?: number;
  /** Set on continue-as-new: where the previous run stopped. */
  resumeFrom?: PiiRotationProgress;
}

export const piiRotationProgressQuery = defineQuery<PiiRotationProgress>('piiRotationProgress');

const defaultBatchSize = 200;
/** Each batch adds about six events: 500 stay well below the size Temporal starts suggesting a new run at. */
const defaultBatchesPerRun = 500;
const unreadableSampleSize = 20;

const rotation = proxyActivities<PiiRotationActivities>(activityPresets.databaseWrite);

/**
 * Re-encrypts every encrypted column under the target key, field after field, in batches walked by id.
 * Each batch is one idempotent activity; the progress (field and last id) lives in the workflow and is
 * carried over on continue-as-new, so a killed worker, a restarted database or a long table only mean
 * the walk goes on from where it was. Run by `POST /v1/admin/pii/rotate` or `npm run identity -- rotate-pii`.
 */
export async function piiKeyRotation(input: PiiKeyRotationInput): Promise<PiiRotationProgress> {
  const progress: PiiRotationProgress = input.resumeFrom
    ? { ...input.resumeFrom, run: input.resumeFrom.run + 1 }
    : {
        targetKeyId: input.targetKeyId,
        fields: await rotation.piiRotationFields(),
        fieldIndex: 0,
        lastId: null,
        batches: 0,
        reencrypted: 0,
        changedMeanwhile: 0,
        unreadable: 0,
        reencryptedByField: {},
        unreadableSample: [],
        run: 1,
        done: false,
      };
  setHandler(piiRotationProgressQuery, () => progress);
  const batchSize = input.batchSize ?? defaultBatchSize;
  const batchesPerRun = input.batchesPerRun ?? defaultBatchesPerRun;

  for (let batchesThisRun = 0; progress.fieldIndex < progress.fields.length; batchesThisRun++) {
    if (batchesThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof piiKeyRotation>({ ...input, resumeFrom: progress });
    }
    const field = progress.fields[progress.fieldIndex]!;
    const batch = await rotation.reencryptPiiBatch({ field, afterId: progress.lastId, batchSize, targetKeyId: input.targetKeyId });
    progress.batches++;
    progress.reencrypted += batch.reencrypted;
    progress.changedMeanwhile += batch.changedMeanwhile;
    progress.unreadable += batch.unreadable;
    progress.reencryptedByField[field] = (progress.reencryptedByField[field] ?? 0) + batch.reencrypted;
    for (const id of batch.unreadableIds) {
      if (progress.unreadableSample.length < unreadableSampleSize) progress.unreadableSample.push({ field, id });
    }
    if (batch.done) {
      progress.fieldIndex++;
      progress.lastId = null;
    } else {
      progress.lastId = batch.lastId;
    }
  }

  const { batches, reencrypted, changedMeanwhile, unreadable, reencryptedByField } = progress;
  await rotation.recordPiiKeyRotated({
    rotationId: `${workflowInfo().workflowId}/${workflowInfo().firstExecutionRunId}`,
    targetKeyId: input.targetKeyId,
    counts: { batches, reencrypted, changedMeanwhile, unreadable, reencryptedByField },
  });
  progress.done = true;
  return progress;
}

/**
 * Re-encryption of personal data under the current PII key, one batch of one column at a time. The
 * batch is idempotent: values already under the current key are not read again, and a value is only
 * overwritten if it is still the one that was read.
 */
import type { Client } from '@temporalio/client';
import { idColumnType, replaceValues, valuesNotUnderKey, type ReplacedValue } from '../db/identity/pii-rotation';
import { decryptPii, encryptPii, PiiError, type PiiKeyring } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import type { Config } from '../platform/config';
import { piiKeyRotationWorkflowId, piiKeyRotationWorkflowType, type PiiKeyRotationInput } from '../workflows/identity/piiKeyRotation';
import { piiFields, type PiiField } from './pii-fields';

export type PiiFieldName = keyof typeof piiFields;

export const piiFieldNames = (): PiiFieldName[] => Object.keys(piiFields) as PiiFieldName[];

export function piiFieldNamed(name: string): PiiField {
  if (!Object.hasOwn(piiFields, name)) throw new Error(`unknown PII field "${name}"`);
  return piiFields[name as PiiFieldName];
}

export interface ReencryptBatchInput {
  field: string;
  /** Keyset position: the last id of the previous batch of this field; null to start at the beginning. */
  afterId: string | null;
  batchSize: number;
}

export interface ReencryptBatchResult {
  /** Values read that were under an older key. */
  read: number;
  /** Values rewritten under the current key. */
  reencrypted: number;
  /** Values changed by someone else between read and write: left as they are (already under the current key). */
  changedMeanwhile: number;
  /** Values that would not decrypt (unknown key id, wrong key, tampered): left as they are, and reported. */
  unreadable: number;
  unreadableIds: string[];
  /** Where the next batch of this field starts; null when there was nothing to read. */
  lastId: string | null;
  /** No more values of this field after this batch. */
  done: boolean;
}

export async function reencryptBatch(db: Executor, keyring: PiiKeyring, input: ReencryptBatchInput): Promise<ReencryptBatchResult> {
  const field = piiFieldNamed(input.field);
  const idType = await idColumnType(db, field);
  const stored = await valuesNotUnderKey(db, field, idType, keyring.current, input.afterId, input.batchSize);
  const replaced: ReplacedValue[] = [];
  const unreadableIds: string[] = [];
  for (const { id, value } of stored) {
    const context = field.context(id);
    try {
      replaced.push({ id, old: value, new: encryptPii(keyring, decryptPii(keyring, value, context), context) });
    } catch (error) {
      // One bad value must not stop the rotation of every other one; the operator gets its id to look at.
      if (!(error instanceof PiiError)) throw error;
      unreadableIds.push(id);
    }
  }
  const reencrypted = await replaceValues(db, field, idType, replaced);
  return {
    read: stored.length,
    reencrypted,
    changedMeanwhile: replaced.length - reencrypted,
    unreadable: unreadableIds.length,
    unreadableIds,
    lastId: stored.at(-1)?.id ?? null,
    done: stored.length < input.batchSize,
  };
}

/** Every field, to the end, in this process: for tests and recovery scripts; the workflow is the production path. */
export async function reencryptEverything(db: Executor, keyring: PiiKeyring, batchSize = 500): Promise<{ reencrypted: number; unreadable: number }> {
  const totals = { reencrypted: 0, unreadable: 0 };
  for (const field of piiFieldNames()) {
    let afterId: string | null = null;
    for (;;) {
      const batch: ReencryptBatchResult = await reencryptBatch(db, keyring, { field, afterId, batchSize });
      totals.reencrypted += batch.reencrypted;
      totals.unreadable += batch.unreadable;
      if (batch.done) break;
      afterId = batch.lastId;
    }
  }
  return totals;
}

/**
 * Starts the rotation to the current key of `config` (the route and the command), or finds the one
 * already running for that key: asking twice never runs two walks side by side.
 */
export async function startPiiKeyRotation(client: Client, config: Pick<Config, 'pii' | 'TASK_QUEUE_PREFIX' | 'taskQueues'>, options: Pick<PiiKeyRotationInput, 'batchSize' | 'batchesPerRun'> = {}) {
  const targetKeyId = config.pii.keyring.current;
  const workflowId = piiKeyRotationWorkflowId(config.TASK_QUEUE_PREFIX, targetKeyId);
  const input: PiiKeyRotationInput = { targetKeyId, ...options };
  const handle = await client.workflow.start(piiKeyRotationWorkflowType, {
    workflowId,
    taskQueue: config.taskQueues.identity,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return { workflowId, targetKeyId, handle };
}

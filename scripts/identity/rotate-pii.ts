import { Client, Connection } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { appendAudit } from '../../db/audit';
import { startPiiKeyRotation } from '../../identity/pii-rotation';
import type { Config } from '../../platform/config';
import { connectPostgres } from '../../platform/postgres';
import type { PiiRotationProgress } from '../../workflows/identity/piiKeyRotation';

/**
 * Re-encrypts every personal value under the current PII key (the last of PII_KEYS), through the same
 * workflow as `POST /v1/admin/pii/rotate`. Order of operations: append the new key to PII_KEYS on every
 * API and worker process, redeploy, run this, and only once it reports no unreadable values remove the
 * old key. `--wait` follows it to the end; `--batch-size N` sets rows per batch.
 */
export default async function rotatePii(args: string[], config: Config): Promise<void> {
  const { values } = parseArgs({ args, options: { wait: { type: 'boolean', default: false }, 'batch-size': { type: 'string' } }, strict: true });
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 5000)) throw new Error('--batch-size must be an integer from 1 to 5000');

  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-rotate-pii' });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const { workflowId, targetKeyId, handle } = await startPiiKeyRotation(client, config, batchSize === undefined ? {} : { batchSize });
    await appendAudit(postgres.db, { actorType: 'system', action: 'identity.pii_key_rotation_requested', targetType: 'pii_key', targetId: targetKeyId, details: { workflowId, via: 'cli' } });
    console.log(`re-encrypting personal data under PII key ${targetKeyId}: workflow ${workflowId}`);
    if (!values.wait) return;
    const result: PiiRotationProgress = await handle.result();
    console.log(`${result.reencrypted} value(s) re-encrypted in ${result.batches} batch(es); ${result.changedMeanwhile} changed meanwhile; ${result.unreadable} unreadable`);
    if (result.unreadable > 0) {
      console.log(`values that do not decrypt (keep the old keys until they are dealt with): ${result.unreadableSample.map((each) => `${each.field}#${each.id}`).join(', ')}`);
    }
  } finally {
    await postgres.close();
    await connection.close();
  }
}

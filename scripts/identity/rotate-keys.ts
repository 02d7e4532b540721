import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../platform/config';
import { signingKeyRotationWorkflowType, type SigningKeyRotationResult } from '../../workflows/identity/definitions';

/** Rotates the access-token signing key now, through the same workflow the Schedule runs, and waits for it. */
export default async function rotateKeys(_args: string[], config: Config): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const result: SigningKeyRotationResult = await client.workflow.execute(signingKeyRotationWorkflowType, {
      workflowId: `${config.TASK_QUEUE_PREFIX}signing-key-rotation-cli-${randomUUID()}`,
      taskQueue: config.taskQueues.identity,
      args: [],
    });
    console.log(result.rotated ? `new signing key ${result.kid}; ${result.pruned} expired key(s) removed` : `signing key ${result.kid} is already current`);
  } finally {
    await connection.close();
  }
}

import { Client, Connection } from '@temporalio/client';
import { pendingErasureRequests } from '../../db/identity/gdpr';
import { gdprErasureWorkflowType } from '../../identity/gdpr';
import type { Config } from '../../platform/config';
import { connectPostgres } from '../../platform/postgres';
import type { GdprErasureInput } from '../../workflows/identity/gdprErasure';

/**
 * Starts (or joins) the `gdprErasure` workflow of every erasure request not completed yet: requests
 * accepted while Temporal was down, or whose workflow failed or was terminated. Safe to run any time:
 * a running erasure is joined, a finished step changes nothing when run again.
 */
export default async function resumeErasures(_args: string[], config: Config): Promise<void> {
  const postgres = connectPostgres(config.DATABASE_URL, { max: 1, applicationName: 'comptoir-identity-cli' });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const pending = await pendingErasureRequests(postgres.db);
    for (const request of pending) {
      const input: GdprErasureInput = { accountId: request.accountId };
      await client.workflow.start(gdprErasureWorkflowType, {
        workflowId: request.workflowId,
        taskQueue: config.taskQueues.identity,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      console.log(`erasure of account ${request.accountId}: workflow ${request.workflowId}`);
    }
    console.log(`${pending.length} pending erasure request(s)`);
  } finally {
    await connection.close();
    await postgres.close();
  }
}

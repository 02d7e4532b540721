import { and, eq, sql } from 'drizzle-orm';
import { appendAudit } from '../../db/audit';
import { auditLog } from '../../db/schema/identity';
import { piiFieldNames, reencryptBatch, type ReencryptBatchResult } from '../../identity/pii-rotation';
import type { PiiRotationCounts } from '../../workflows/identity/piiKeyRotation';
import type { IdentityActivityDeps } from './index';

export function createPiiRotationActivities(deps: Pick<IdentityActivityDeps, 'db' | 'config' | 'logger'>) {
  return {
    /** The encrypted columns, in the order the rotation walks them; read once per rotation and kept in its history. */
    async piiRotationFields(): Promise<string[]> {
      return piiFieldNames();
    },

    /**
     * Re-encrypts one batch of one column under `targetKeyId`. Idempotent: a retry reads only what is
     * still under an older key, and overwrites only values unchanged since they were read.
     */
    async reencryptPiiBatch(input: { field: string; afterId: string | null; batchSize: number; targetKeyId: string }): Promise<ReencryptBatchResult> {
      const keyring = deps.config.pii.keyring;
      // During a redeploy some workers still encrypt under the old key: they must not write it back.
      // The retry lands on an up-to-date worker, or waits until there is one.
      if (keyring.current !== input.targetKeyId) {
        throw new Error(`this worker encrypts under PII key "${keyring.current}", the rotation targets "${input.targetKeyId}": redeploy it with the new PII_KEYS`);
      }
      const result = await reencryptBatch(deps.db, keyring, input);
      if (result.unreadable > 0) {
        deps.logger.warn({ field: input.field, ids: result.unreadableIds }, 'PII values that do not decrypt were left as they are');
      }
      return result;
    },

    /** Appends `identity.pii_key_rotated` once per rotation (a retry finds its row and appends nothing). */
    async recordPiiKeyRotated(input: { rotationId: string; targetKeyId: string; counts: PiiRotationCounts }): Promise<void> {
      const [existing] = await deps.db
        .select({ id: auditLog.id })
        .from(auditLog)
        .where(and(eq(auditLog.action, 'identity.pii_key_rotated'), eq(auditLog.targetType, 'pii_key'), eq(auditLog.targetId, input.targetKeyId), sql`${auditLog.details}->>'rotationId' = ${input.rotationId}`));
      if (existing) return;
      await appendAudit(deps.db, {
        actorType: 'system',
        action: 'identity.pii_key_rotated',
        targetType: 'pii_key',
        targetId: input.targetKeyId,
        details: { rotationId: input.rotationId, ...input.counts },
      });
      deps.logger.info({ keyId: input.targetKeyId, ...input.counts }, 'PII key rotation finished');
    },
  };
}

export type PiiRotationActivities = ReturnType<typeof createPiiRotationActivities>;

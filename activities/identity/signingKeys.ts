import { appendAudit } from '../../db/audit';
import { rotateSigningKey } from '../../identity/signing-keys';
import type { IdentityActivityDeps } from './index';
import type { SigningKeyRotationResult } from '../../workflows/identity/definitions';

export function createSigningKeyActivities(deps: Pick<IdentityActivityDeps, 'db' | 'config' | 'logger'>) {
  return {
    /** Idempotent: a retry with the same `requestedAt` finds its rotation done and changes nothing. */
    async rotateSigningKey(input: { requestedAt: string }): Promise<SigningKeyRotationResult> {
      const result = await rotateSigningKey(deps.db, deps.config, new Date(input.requestedAt));
      if (result.rotated) {
        await appendAudit(deps.db, { actorType: 'system', action: 'identity.signing_key_rotated', targetType: 'signing_key', targetId: result.kid, details: { pruned: result.pruned } });
        deps.logger.info({ kid: result.kid, pruned: result.pruned }, 'signing key rotated');
      }
      return result;
    },
  };
}

export type SigningKeyActivities = ReturnType<typeof createSigningKeyActivities>;

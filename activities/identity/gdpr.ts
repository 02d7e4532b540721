import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { appendAudit } from '../../db/audit';
import { completeErasureRequest } from '../../db/identity/gdpr';
import { personalDataDomain, personalDataDomains } from '../../identity/gdpr';
import { revokeAccountSessions } from '../../identity/sessions';
import type { IdentityActivityDeps } from './index';

export interface DomainErasure {
  domain: string;
  /** Rows changed; 0 when the domain held nothing more about the person. */
  changed: number;
}

const heartbeatEveryMs = 2_000;

/** Heartbeats while `work` runs, so a dead worker is noticed within the heartbeat timeout however long an eraser takes. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), heartbeatEveryMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * The steps of `gdprErasure`. Each is idempotent: run again after a crash or a retry it finds its work
 * done and changes nothing. Logs carry the account id (pseudonymous) and counts, never personal data.
 */
export function createGdprActivities(deps: Pick<IdentityActivityDeps, 'db' | 'config' | 'logger'>) {
  return {
    async revokeSessionsForErasure(input: { accountId: string }): Promise<{ revoked: number }> {
      const revoked = await revokeAccountSessions(deps.db, input.accountId, 'erasure');
      return { revoked };
    },

    /** The registry's domains, asked once per run: the answer is in the workflow's history, so a replay never depends on the code deployed since. */
    async erasureDomains(): Promise<string[]> {
      return personalDataDomains.map((entry) => entry.domain);
    },

    async erasePersonalData(input: { accountId: string; domain: string }): Promise<DomainErasure> {
      const entry = personalDataDomain(input.domain);
      if (!entry) {
        // A domain renamed or removed by a deploy while this run was in flight: fail where ops can see it
        // (the request stays pending; `npm run identity -- resume-erasures` runs it again with today's list).
        throw ApplicationFailure.nonRetryable(`no personal-data domain named "${input.domain}"`, 'UnknownPersonalDataDomain');
      }
      const changed = await heartbeating(() => entry.erase(deps.db, deps.config, input.accountId));
      deps.logger.info({ accountId: input.accountId, domain: input.domain, changed }, 'personal data erased');
      return { domain: input.domain, changed };
    },

    /** Marks the request done and appends `identity.erasure_completed`, once: a second run finds it completed and records nothing. */
    async completeErasure(input: { accountId: string; workflowId: string; erased: DomainErasure[] }): Promise<{ completedNow: boolean }> {
      const completedNow = await deps.db.transaction(async (tx) => {
        const now = await completeErasureRequest(tx, input.accountId, input.workflowId);
        if (now) {
          await appendAudit(tx, {
            actorType: 'system',
            action: 'identity.erasure_completed',
            targetType: 'account',
            targetId: input.accountId,
            details: { workflowId: input.workflowId, erased: input.erased },
          });
        }
        return now;
      });
      return { completedNow };
    },
  };
}

export type GdprActivities = ReturnType<typeof createGdprActivities>;

import { LoyaltyLedgerConflict, loyaltyStateFromLedger, recordLoyaltyEntries } from '../../db/loyalty';
import type { LoyaltyAccountState, LoyaltyEntry } from '../../loyalty/account';
import type { Logger } from '../../platform/logger';
import type { Database } from '../../platform/postgres';

export interface LoyaltyLedgerDeps {
  db: Database;
  logger: Logger;
}

/** What the `loyaltyAccount` workflow runs: reading its ledger once when it first starts, and writing entries. */
export function createLoyaltyLedgerActivities({ db, logger }: LoyaltyLedgerDeps) {
  return {
    /** The account as the ledger has it, or null for a new one. */
    async loadLoyaltyAccount(input: { accountId: string }): Promise<LoyaltyAccountState | null> {
      return loyaltyStateFromLedger(db, input.accountId);
    },

    /**
     * Writes entries in order; idempotent: entries already recorded (same key, same account and seq) are
     * skipped, so a retried or replayed call changes nothing twice.
     */
    async recordLoyaltyEntries(input: { accountId: string; entries: LoyaltyEntry[] }): Promise<{ recorded: number; alreadyRecorded: number }> {
      try {
        return await recordLoyaltyEntries(db, input.accountId, input.entries);
      } catch (error) {
        // Retried like any failure (the account waits, visibly, in its pending activity) but said loudly:
        // it means the workflow and the ledger disagree about an event.
        if (error instanceof LoyaltyLedgerConflict) logger.error({ accountId: input.accountId, key: error.key }, 'loyalty ledger conflict');
        throw error;
      }
    },
  };
}

export type LoyaltyLedgerActivities = ReturnType<typeof createLoyaltyLedgerActivities>;

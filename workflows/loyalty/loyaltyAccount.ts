import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LoyaltyLedgerActivities } from '../../activities/loyalty/ledger';
import {
  advance,
  commitRedemption,
  deliverOrder,
  emptyAccount,
  nextDeadline,
  redemptionResult,
  refundOrder,
  refuseRedemption,
  releaseRedemption,
  reservePoints,
  summarise,
  type CommandOutcome,
  type LoyaltyAccountState,
  type LoyaltyEntry,
  type RedemptionRefusal,
} from '../../loyalty/account';
import { activityPresets } from '../activity-presets';
import {
  commitRedemptionSignal,
  defaultLoyaltySettings,
  loyaltyStateQuery,
  orderDeliveredSignal,
  orderRefundedSignal,
  redeemPointsUpdate,
  redemptionRefusedFailureType,
  releaseRedemptionSignal,
  type LoyaltyAccountInput,
} from './definitions';

const ledger = proxyActivities<LoyaltyLedgerActivities>(activityPresets.databaseWrite);

function refused(refusal: RedemptionRefusal): ApplicationFailure {
  return ApplicationFailure.create({ type: redemptionRefusedFailureType, message: refusal.message, nonRetryable: true, details: [refusal] });
}

/**
 * One customer's loyalty account (`loyalty-<accountId>`), for as long as the customer has one.
 *
 * Every message is decided at once, synchronously, by the pure account (`loyalty/account.ts`): the state
 * moves and the ledger entries it caused join `pending`. The main loop writes pending entries to the
 * ledger in order (one idempotent activity per batch), then sleeps until the next thing time alone
 * changes — the next lot to expire or the next spend to leave the rolling 12 months — with one timer,
 * re-armed whenever a message arrives. A redemption answers only once its reservation is in the ledger.
 *
 * Before its history grows long the run hands over to a new one (continue-as-new) with its state,
 * after writing what is pending and letting running handlers finish; a message arriving meanwhile is
 * either taken by this run (and written before the hand-over) or by the next.
 *
 * On its first start it reads the ledger: an account whose workflow was lost (terminated, reset)
 * resumes from what the ledger records instead of starting from zero.
 */
export async function loyaltyAccount(input: LoyaltyAccountInput): Promise<void> {
  const settings = { ...defaultLoyaltySettings, ...input.settings };
  const carried = input.resumeFrom;
  let state: LoyaltyAccountState = carried ? carried.state : emptyAccount(input.accountId);
  let loaded = carried !== undefined;
  const pending: LoyaltyEntry[] = carried ? [...carried.pending] : [];
  const runs = (carried?.runs ?? 0) + 1;
  let writtenSeq = pending.length > 0 ? pending[0]!.seq - 1 : state.seq;

  /** Time's effects first (a lot due now expires before anything else), then the command, then its consequences. */
  function apply(what: string, command: (nowMs: number) => { entries: LoyaltyEntry[]; outcome: CommandOutcome }): void {
    const now = Date.now();
    const before = advance(state, now);
    const { entries, outcome } = command(now);
    if (outcome === 'invalid') log.warn(`loyalty ${what} ignored: invalid`, { accountId: state.accountId });
    else if (outcome === 'duplicate') log.info(`loyalty ${what} already applied`, { accountId: state.accountId });
    pending.push(...before, ...entries, ...advance(state, now));
  }

  // Updates arriving before a handler exists would be rejected (signals are kept): this one is registered
  // before the first start reads the ledger, and waits for it.
  setHandler(
    redeemPointsUpdate,
    async (request) => {
      await condition(() => loaded);
      const decision: { refusal: RedemptionRefusal | null } = { refusal: null };
      apply('redeemPoints', (now) => {
        // Checked again on the state as it is now: the validator ran on a copy.
        decision.refusal = refuseRedemption(state, request);
        return { entries: decision.refusal ? [] : reservePoints(state, request, now), outcome: decision.refusal ? 'invalid' : 'applied' };
      });
      if (decision.refusal) throw refused(decision.refusal);
      const { seq } = state.redemptions[request.orderId]!;
      await condition(() => writtenSeq >= seq);
      return redemptionResult(state, request.orderId);
    },
    {
      validator: (request) => {
        // Before the ledger is read (a first start) there is nothing to check against: the handler decides.
        if (!loaded) return;
        // On a copy brought to the present, so points that expire now are not promised.
        const present: LoyaltyAccountState = JSON.parse(JSON.stringify(state));
        advance(present, Date.now());
        const refusal = refuseRedemption(present, request);
        if (refusal) throw refused(refusal);
      },
    },
  );

  if (!loaded) {
    state = (await ledger.loadLoyaltyAccount({ accountId: input.accountId })) ?? state;
    writtenSeq = state.seq;
    loaded = true;
  }

  setHandler(loyaltyStateQuery, () => ({ ...summarise(state, Date.now()), pendingWrites: pending.length, writtenSeq, runs }));

  setHandler(orderDeliveredSignal, (event) => apply('orderDelivered', (now) => deliverOrder(state, event, now)));

  setHandler(orderRefundedSignal, (event) => apply('orderRefunded', (now) => refundOrder(state, event, now)));

  setHandler(commitRedemptionSignal, (command) =>
    apply('commitRedemption', (now) => {
      const entries = commitRedemption(state, command?.orderId, now);
      return { entries, outcome: entries.length > 0 ? 'applied' : 'duplicate' };
    }),
  );

  setHandler(releaseRedemptionSignal, (command) =>
    apply('releaseRedemption', (now) => {
      const entries = releaseRedemption(state, command?.orderId, now, command?.reason ?? 'released');
      return { entries, outcome: entries.length > 0 ? 'applied' : 'duplicate' };
    }),
  );

  const historyIsLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= settings.historyEventsPerRun;
  };

  for (;;) {
    if (pending.length > 0) {
      const batch = pending.slice(0, settings.entriesPerWrite);
      await ledger.recordLoyaltyEntries({ accountId: state.accountId, entries: batch });
      pending.splice(0, batch.length);
      writtenSeq = batch.at(-1)!.seq;
      continue;
    }
    if (historyIsLong()) {
      // A redemption waiting for its write keeps its handler running: write, then look again.
      await condition(() => pending.length > 0 || allHandlersFinished());
      if (pending.length > 0) continue;
      return continueAsNew<typeof loyaltyAccount>({
        accountId: state.accountId,
        ...(input.settings ? { settings: input.settings } : {}),
        resumeFrom: { state, pending: [], runs },
      });
    }
    const deadline = nextDeadline(state, Date.now());
    const woken = () => pending.length > 0 || historyIsLong();
    if (deadline === undefined) {
      await condition(woken);
    } else if (!(await condition(woken, Math.max(1, deadline - Date.now())))) {
      pending.push(...advance(state, Date.now()));
    }
  }
}

/**
 * The loyalty account's contract, importable by workflows and clients of every domain: fulfilment reports
 * deliveries, returns/payments report refunds, checkout redeems points and commits or releases them.
 * Names here are stored in workflow histories: never rename one once released.
 *
 * How to reach an account (the helpers in `activities/loyalty/report.ts` do exactly this):
 * - `orderDelivered` and `orderRefunded` with **signal-with-start** on `loyaltyWorkflowId(prefix, accountId)`
 *   (task queue `config.taskQueues.loyalty`, args `[{ accountId }]`): the account is created by its first news.
 * - `redeemPoints` is an update with a validator: refused (WorkflowUpdateFailedError whose cause is an
 *   ApplicationFailure of type `LoyaltyRedemptionRefused`, details `[RedemptionRefusal]`) when the points
 *   are not available. Sending the same request again answers the same reservation.
 * - `commitRedemption` / `releaseRedemption` are signals; each acts once per order.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  LoyaltyAccountState,
  LoyaltyEntry,
  LoyaltySummary,
  OrderDeliveredEvent,
  OrderRefundedEvent,
  RedeemPointsRequest,
  RedeemPointsResult,
  RedemptionRefusal,
} from '../../loyalty/account';

export type { OrderDeliveredEvent, OrderRefundedEvent, RedeemPointsRequest, RedeemPointsResult, RedemptionRefusal };

export const loyaltyAccountWorkflowType = 'loyaltyAccount';

/** One long-lived account per customer; `prefix` is `config.TASK_QUEUE_PREFIX`. */
export const loyaltyWorkflowId = (prefix: string, accountId: string): string => `${prefix}loyalty-${accountId}`;

/** The ApplicationFailure type of a refused `redeemPoints`; its first detail is the `RedemptionRefusal`. */
export const redemptionRefusedFailureType = 'LoyaltyRedemptionRefused';

export interface LoyaltySettings {
  /** History events after which the run continues as new (Temporal's own suggestion also counts). */
  historyEventsPerRun: number;
  /** Ledger entries written per activity call. */
  entriesPerWrite: number;
}

export const defaultLoyaltySettings: LoyaltySettings = {
  historyEventsPerRun: 2_000,
  entriesPerWrite: 100,
};

export interface LoyaltyCarryOver {
  state: LoyaltyAccountState;
  /** Entries decided but not yet in the ledger (none in practice: the run writes them before handing over). */
  pending: LoyaltyEntry[];
  /** Runs so far. */
  runs: number;
}

export interface LoyaltyAccountInput {
  accountId: string;
  settings?: Partial<LoyaltySettings>;
  /** Set by continue-as-new only. */
  resumeFrom?: LoyaltyCarryOver;
}

export interface RedemptionCommand {
  orderId: string;
  /** Why a release happens (`payment_failed`, `cancelled`…), kept in the ledger. */
  reason?: string;
}

export interface LoyaltyStateView extends LoyaltySummary {
  /** Entries decided and not yet written to the ledger. */
  pendingWrites: number;
  /** The last seq the ledger holds. */
  writtenSeq: number;
  runs: number;
}

export const orderDeliveredSignal = defineSignal<[OrderDeliveredEvent]>('orderDelivered');
export const orderRefundedSignal = defineSignal<[OrderRefundedEvent]>('orderRefunded');
export const redeemPointsUpdate = defineUpdate<RedeemPointsResult, [RedeemPointsRequest]>('redeemPoints');
export const commitRedemptionSignal = defineSignal<[RedemptionCommand]>('commitRedemption');
export const releaseRedemptionSignal = defineSignal<[RedemptionCommand]>('releaseRedemption');
export const loyaltyStateQuery = defineQuery<LoyaltyStateView>('loyaltyState');

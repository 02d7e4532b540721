/**
 * How other domains talk to a loyalty account, as plain functions (for an API route or a script) and as
 * activities (for a workflow: fulfilment reporting a delivery, returns or payments a refund, checkout
 * redeeming points). Register the activities in the worker of the workflow that calls them:
 * `...createLoyaltyReportActivities({ client, config })`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { RedeemPointsResult, RedemptionRefusal } from '../../loyalty/account';
import { isLoyaltyCurrency } from '../../loyalty/rules';
import type { Config } from '../../platform/config';
import {
  commitRedemptionSignal,
  loyaltyAccountWorkflowType,
  loyaltyWorkflowId,
  orderDeliveredSignal,
  orderRefundedSignal,
  redeemPointsUpdate,
  redemptionRefusedFailureType,
  releaseRedemptionSignal,
  type LoyaltyAccountInput,
} from '../../workflows/loyalty/definitions';
import { searchAttributeKeys } from '../../workflows/orders/definitions';

export interface LoyaltyReportDeps {
  client: Client;
  config: Pick<Config, 'TASK_QUEUE_PREFIX' | 'taskQueues'>;
}

const accountId = z.uuid();
const orderId = z.uuid();
const currency = z.string().refine(isLoyaltyCurrency, 'not a loyalty currency');

export const orderDeliveredReport = z.object({
  accountId,
  orderId,
  /** Minor units paid, net of the refunds listed in `refundIds`; simplest: what was captured, no `refundIds`, every refund reported on its own. */
  amount: z.number().int().nonnegative(),
  currency,
  deliveredAt: z.iso.datetime({ offset: true }),
  refundIds: z.array(z.string().min(1).max(100)).max(100).optional(),
});
export type OrderDeliveredReport = z.infer<typeof orderDeliveredReport>;

export const orderRefundedReport = z.object({ accountId, orderId, refundId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/), amount: z.number().int().positive() });
export type OrderRefundedReport = z.infer<typeof orderRefundedReport>;

export const redeemPointsCall = z.object({ accountId, orderId, points: z.number().int().positive(), currency });
export type RedeemPointsCall = z.infer<typeof redeemPointsCall>;

export const redemptionCommandCall = z.object({ accountId, orderId, reason: z.string().max(200).optional() });
export type RedemptionCommandCall = z.infer<typeof redemptionCommandCall>;

/** A redemption the account refused: not enough points, a different one already held for the order… */
export class LoyaltyRedemptionRefused extends Error {
  override name = 'LoyaltyRedemptionRefused';
  constructor(readonly refusal: RedemptionRefusal) {
    super(refusal.message);
  }
}

function startOptions(deps: LoyaltyReportDeps, account: string) {
  const input: LoyaltyAccountInput = { accountId: account };
  return {
    workflowId: loyaltyWorkflowId(deps.config.TASK_QUEUE_PREFIX, account),
    taskQueue: deps.config.taskQueues.loyalty,
    args: [input] as [LoyaltyAccountInput],
    typedSearchAttributes: [{ key: searchAttributeKeys.customerId, value: account }],
  };
}

/** Tells the account an order was delivered (signal-with-start: the account is created by its first news). Earns once per order. */
export async function reportOrderDelivered(deps: LoyaltyReportDeps, report: OrderDeliveredReport): Promise<void> {
  const { accountId: account, ...event } = orderDeliveredReport.parse(report);
  await deps.client.workflow.signalWithStart(loyaltyAccountWorkflowType, { ...startOptions(deps, account), signal: orderDeliveredSignal, signalArgs: [event] });
}

/** Tells the account part of an order was refunded; claws back once per refund id. */
export async function reportOrderRefunded(deps: LoyaltyReportDeps, report: OrderRefundedReport): Promise<void> {
  const { accountId: account, ...event } = orderRefundedReport.parse(report);
  await deps.client.workflow.signalWithStart(loyaltyAccountWorkflowType, { ...startOptions(deps, account), signal: orderRefundedSignal, signalArgs: [event] });
}

/** The refusal carried by a failed `redeemPoints` update, if that is what the error is. */
export function redemptionRefusalOf(error: unknown): RedemptionRefusal | undefined {
  if (!(error instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && cause.type === redemptionRefusedFailureType) return cause.details?.[0] as RedemptionRefusal | undefined;
  return undefined;
}

/**
 * Reserves points for an order and answers once the reservation is in the ledger; throws
 * `LoyaltyRedemptionRefused` when it cannot be held. Repeating the same call answers the same reservation.
 */
export async function redeemPoints(deps: LoyaltyReportDeps, call: RedeemPointsCall): Promise<RedeemPointsResult> {
  const { accountId: account, ...request } = redeemPointsCall.parse(call);
  try {
    return await deps.client.workflow.getHandle(loyaltyWorkflowId(deps.config.TASK_QUEUE_PREFIX, account)).executeUpdate(redeemPointsUpdate, { args: [request] });
  } catch (error) {
    const refusal = redemptionRefusalOf(error);
    if (refusal) throw new LoyaltyRedemptionRefused(refusal);
    if (error instanceof WorkflowNotFoundError) {
      // No account yet: nothing was ever earned.
      throw new LoyaltyRedemptionRefused({ reason: 'insufficient_points', field: 'points', message: `${request.points} points requested, 0 available`, requested: request.points, available: 0 });
    }
    throw error;
  }
}

async function signalRedemption(deps: LoyaltyReportDeps, call: RedemptionCommandCall, commit: boolean): Promise<void> {
  const { accountId: account, orderId: order, reason } = redemptionCommandCall.parse(call);
  const handle = deps.client.workflow.getHandle(loyaltyWorkflowId(deps.config.TASK_QUEUE_PREFIX, account));
  try {
    if (commit) await handle.signal(commitRedemptionSignal, { orderId: order });
    else await handle.signal(releaseRedemptionSignal, { orderId: order, ...(reason ? { reason } : {}) });
  } catch (error) {
    // No account: nothing was reserved, so there is nothing to commit or release.
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** Spends the points reserved for an order (checkout, once paid). Acts once. */
export const commitRedeemedPoints = (deps: LoyaltyReportDeps, call: RedemptionCommandCall) => signalRedemption(deps, call, true);

/** Gives back the points reserved for an order (checkout's compensation). Acts once. */
export const releaseRedeemedPoints = (deps: LoyaltyReportDeps, call: RedemptionCommandCall) => signalRedemption(deps, call, false);

/** Bad input to these activities is a caller's bug: failing for good beats retrying it forever. */
async function asActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof z.ZodError) throw ApplicationFailure.create({ type: 'InvalidLoyaltyReport', message: z.prettifyError(error), nonRetryable: true });
    if (error instanceof LoyaltyRedemptionRefused) {
      throw ApplicationFailure.create({ type: redemptionRefusedFailureType, message: error.message, nonRetryable: true, details: [error.refusal] });
    }
    throw error;
  }
}

/**
 * The same as activities. `redeemLoyaltyPoints` fails with a non-retryable ApplicationFailure of type
 * `LoyaltyRedemptionRefused` (details `[RedemptionRefusal]`) when the points cannot be held.
 */
export function createLoyaltyReportActivities(deps: LoyaltyReportDeps) {
  return {
    reportOrderDeliveredToLoyalty: (report: OrderDeliveredReport) => asActivity(() => reportOrderDelivered(deps, report)),
    reportOrderRefundedToLoyalty: (report: OrderRefundedReport) => asActivity(() => reportOrderRefunded(deps, report)),
    redeemLoyaltyPoints: (call: RedeemPointsCall) => asActivity(() => redeemPoints(deps, call)),
    commitLoyaltyRedemption: (call: RedemptionCommandCall) => asActivity(() => commitRedeemedPoints(deps, call)),
    releaseLoyaltyRedemption: (call: RedemptionCommandCall) => asActivity(() => releaseRedeemedPoints(deps, call)),
  };
}

export type LoyaltyReportActivities = ReturnType<typeof createLoyaltyReportActivities>;

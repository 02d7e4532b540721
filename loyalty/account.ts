/**
 * A loyalty account as a pure state machine, shared by the `loyaltyAccount` workflow (which decides) and
 * the ledger (which records and is read). Every change is a ledger entry: a command computes the entries
 * it causes, and the state moves only by applying entries (`applyEntry`). So replaying the ledger rebuilds
 * the account exactly (`stateFromEntries`), and the balance is, by construction, the sum of the entries.
 *
 * Rules that are decisions, not arithmetic (rules.ts has the arithmetic):
 * - Lots are spent first-in first-out (oldest expiry first), so the points closest to expiry go first.
 *   A clawback takes from the refunded order's own lot first, then FIFO.
 * - Reserved points stay in their lots until the redemption is committed; expiry and clawbacks only take
 *   *available* points (balance − reserved), so a reservation is never undercut. A lot that came due
 *   while its points were reserved expires the moment the reservation is released.
 * - The balance never goes below zero. A clawback for points already spent (or reserved) takes what is
 *   available and records the rest as a debt, repaid from the next points that become available (an
 *   earn, a released reservation) before they can be spent; the debt is part of the ledger too.
 * - Points of an order are earned when the delivery is reported, at the multiplier of the tier held then
 *   (before this order's spend counts), and expire 12 months after that moment. The order's spend counts
 *   towards tiers from its delivery date.
 * - A refund claws back what the refunded part earned: the order keeps the points its final net amount
 *   would have earned at the same multiplier, so several partial refunds never round away more than one
 *   full refund would. A refund reported before the delivery is remembered and taken off the amount then.
 */
import {
  expiryOf,
  isLoyaltyCurrency,
  nextTierFor,
  pointsEarned,
  rollingSpend,
  spendInEur,
  spendRollsOutAt,
  tierForSpend,
  tierNamed,
  valueOfPoints,
  addMonthsUtc,
  type TierName,
} from './rules';

export const ledgerKinds = ['earn', 'clawback', 'reserve', 'commit', 'release', 'expire', 'debt_repaid', 'tier'] as const;
export type LedgerKind = (typeof ledgerKinds)[number];

/** Points a debit took from one lot. */
export interface LotTake {
  lotId: string;
  points: number;
}

export interface LoyaltyEntryDetail {
  /** earn: the amount reported; clawback: the amount refunded; reserve/commit: the points' value. Minor units of `currency`. */
  amount?: number;
  currency?: string;
  /** earn: the amount the points were computed on (reported − refunds received before the delivery). */
  net?: number;
  /** earn: the tier multiplier applied, in percent. */
  multiplierPct?: number;
  /** earn: the tier held when earning; tier: the new tier. */
  tier?: TierName;
  /** tier: the tier left. */
  previousTier?: TierName;
  /** tier: the rolling spend that decided it, EUR cents. */
  spendEur?: number;
  /** earn: refunds the reported amount was already net of (their later signals change nothing). */
  refundIds?: string[];
  /** earn: refunds received before the delivery and taken off the amount. */
  refundedBefore?: number;
  /** clawback: points the refunded part had earned (taken now + added to the debt). */
  owed?: number;
  reason?: string;
}

/**
 * One ledger entry. `points`, `reserved` and `debt` are the changes it makes to the account's balance,
 * reserved points and debt; the ledger's sums are the account's values.
 */
export interface LoyaltyEntry {
  /** Position in the account's ledger, 1, 2, 3…: decided by the workflow, so a retried write is the same row. */
  seq: number;
  /** Unique across the whole ledger: the business event it records (`earn:<orderId>`, `expire:<lotId>:1`…). */
  key: string;
  kind: LedgerKind;
  /** When it happened (workflow time), ISO 8601 UTC. */
  at: string;
  points: number;
  reserved: number;
  debt: number;
  orderId?: string;
  refundId?: string;
  /** earn: the lot it opens (its id is the order id) and when that lot expires. */
  lot?: { id: string; expiresAt: string };
  /** Debits: the lots the points came from. */
  lots?: LotTake[];
  /** Tier spend it adds (signed EUR cents), counted in the rolling window from `at`. */
  spend?: { eur: number; at: string };
  detail?: LoyaltyEntryDetail;
}

export interface Lot {
  id: string;
  earnedAt: string;
  expiresAt: string;
  points: number;
  remaining: number;
  /** Expiry entries written for it so far (a lot protected by a reservation may expire in two parts). */
  expiredParts: number;
}

export interface OrderRecord {
  delivered: boolean;
  currency: string | null;
  /** The net amount the points were earned on. */
  earnedOn: number;
  points: number;
  multiplierPct: number;
  /** Points owed back so far (taken and put in debt). */
  clawed: number;
  /** The order's current contribution to the tier spend, EUR cents. */
  spendEur: number;
  spendAt: string | null;
  refunds: Record<string, { amount: number; afterDelivery: boolean }>;
  /** Refunds the reported delivery amount already excluded. */
  netted: string[];
  lastAt: string;
}

export type RedemptionState = 'reserved' | 'committed' | 'released';

export interface Redemption {
  points: number;
  currency: string | null;
  state: RedemptionState;
  at: string;
  /** The seq of the entry that reserved it (0 for a release that came first). */
  seq: number;
}

export interface LoyaltyAccountState {
  accountId: string;
  /** The last entry decided. */
  seq: number;
  balance: number;
  reserved: number;
  debt: number;
  tier: TierName;
  /** Lots still holding points, oldest expiry first. */
  lots: Lot[];
  /** Orders whose points or refunds may still matter (13 months after their last event). */
  orders: Record<string, OrderRecord>;
  redemptions: Record<string, Redemption>;
  /** Orders forgotten after 13 months: a late duplicate is still recognised. */
  closedOrders: string[];
  closedRedemptions: string[];
}

export interface OrderDeliveredEvent {
  orderId: string;
  /** Minor units paid for the order, net of the refunds listed in `refundIds` (none: gross). */
  amount: number;
  currency: string;
  /** ISO 8601; when the last parcel was delivered. */
  deliveredAt: string;
  refundIds?: string[];
}

export interface OrderRefundedEvent {
  orderId: string;
  refundId: string;
  /** Minor units refunded, in the order's currency. */
  amount: number;
}

export interface RedeemPointsRequest {
  /** The order (checkout) the points pay for: one redemption per order. */
  orderId: string;
  points: number;
  /** The order's currency: the points' value is given in it. */
  currency: string;
}

export interface RedeemPointsResult {
  orderId: string;
  points: number;
  /** What the points take off the order, in its currency's minor units. */
  value: { amount: number; currency: string };
  /** Points still available after this reservation. */
  available: number;
}

export type RedemptionRefusalReason = 'invalid_request' | 'unsupported_currency' | 'insufficient_points' | 'already_reserved' | 'redemption_closed';

export interface RedemptionRefusal {
  reason: RedemptionRefusalReason;
  message: string;
  /** The request field at fault, for a problem+json answer. */
  field: 'orderId' | 'points' | 'currency';
  requested: number;
  available: number;
}

const orderIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const refundIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;
/** Order records and closed redemptions are kept this long after their last event: past any refund window. */
const retentionMonths = 13;

export const isOrderId = (value: unknown): value is string => typeof value === 'string' && orderIdPattern.test(value);
export const isRefundId = (value: unknown): value is string => typeof value === 'string' && refundIdPattern.test(value);
const iso = (ms: number) => new Date(ms).toISOString();

export function emptyAccount(accountId: string): LoyaltyAccountState {
  return { accountId, seq: 0, balance: 0, reserved: 0, debt: 0, tier: 'bronze', lots: [], orders: {}, redemptions: {}, closedOrders: [], closedRedemptions: [] };
}

export const availablePoints = (state: LoyaltyAccountState): number => state.balance - state.reserved;

function orderRecord(state: LoyaltyAccountState, orderId: string, at: string): OrderRecord {
  state.orders[orderId] ??= { delivered: false, currency: null, earnedOn: 0, points: 0, multiplierPct: 100, clawed: 0, spendEur: 0, spendAt: null, refunds: {}, netted: [], lastAt: at };
  return state.orders[orderId];
}

/** The only way the state changes: what an entry does to the account. Used live and to rebuild from the ledger. */
export function applyEntry(state: LoyaltyAccountState, entry: LoyaltyEntry): void {
  state.seq = Math.max(state.seq, entry.seq);
  state.balance += entry.points;
  state.reserved += entry.reserved;
  state.debt += entry.debt;
  for (const take of entry.lots ?? []) {
    const lot = state.lots.find((each) => each.id === take.lotId);
    if (!lot) throw new Error(`entry ${entry.key} takes from lot ${take.lotId}, which holds nothing`);
    lot.remaining -= take.points;
    if (entry.kind === 'expire') lot.expiredParts++;
  }
  state.lots = state.lots.filter((lot) => lot.remaining > 0);
  switch (entry.kind) {
    case 'earn': {
      const record = orderRecord(state, entry.orderId!, entry.at);
      Object.assign(record, {
        delivered: true,
        currency: entry.detail?.currency ?? null,
        earnedOn: entry.detail?.net ?? 0,
        points: entry.points,
        multiplierPct: entry.detail?.multiplierPct ?? 100,
        spendEur: entry.spend?.eur ?? 0,
        spendAt: entry.spend?.at ?? entry.at,
        netted: entry.detail?.refundIds ?? [],
        lastAt: entry.at,
      });
      if (entry.lot && entry.points > 0) {
        state.lots.push({ id: entry.lot.id, earnedAt: entry.at, expiresAt: entry.lot.expiresAt, points: entry.points, remaining: entry.points, expiredParts: 0 });
        state.lots.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
      }
      break;
    }
    case 'clawback': {
      const record = orderRecord(state, entry.orderId!, entry.at);
      record.refunds[entry.refundId!] = { amount: entry.detail?.amount ?? 0, afterDelivery: record.delivered };
      if (record.delivered) {
        record.clawed += -entry.points + entry.debt;
        record.spendEur += entry.spend?.eur ?? 0;
      }
      record.lastAt = entry.at;
      break;
    }
    case 'reserve':
      state.redemptions[entry.orderId!] = { points: entry.reserved, currency: entry.detail?.currency ?? null, state: 'reserved', at: entry.at, seq: entry.seq };
      break;
    case 'commit':
    case 'release': {
      const held = state.redemptions[entry.orderId!] ?? { points: 0, currency: null, seq: 0 };
      state.redemptions[entry.orderId!] = { ...held, state: entry.kind === 'commit' ? 'committed' : 'released', at: entry.at };
      break;
    }
    case 'tier':
      state.tier = entry.detail!.tier!;
      break;
    case 'expire':
    case 'debt_repaid':
      break;
  }
}

/** Replays ledger entries (in seq order) into the account they describe. */
export function stateFromEntries(accountId: string, entries: Iterable<LoyaltyEntry>): LoyaltyAccountState {
  const state = emptyAccount(accountId);
  for (const entry of [...entries].sort((a, b) => a.seq - b.seq)) applyEntry(state, entry);
  return state;
}

function emit(state: LoyaltyAccountState, out: LoyaltyEntry[], entry: Omit<LoyaltyEntry, 'seq'>): void {
  const full: LoyaltyEntry = { ...entry, seq: state.seq + 1 };
  applyEntry(state, full);
  out.push(full);
}

/** Which lots `points` come from: the preferred lot first, then oldest expiry first. */
function takeFromLots(state: LoyaltyAccountState, points: number, preferLotId?: string): LotTake[] {
  const ordered = preferLotId ? [...state.lots.filter((lot) => lot.id === preferLotId), ...state.lots.filter((lot) => lot.id !== preferLotId)] : state.lots;
  const takes: LotTake[] = [];
  let left = points;
  for (const lot of ordered) {
    if (left === 0) break;
    const take = Math.min(left, lot.remaining);
    if (take > 0) takes.push({ lotId: lot.id, points: take });
    left -= take;
  }
  if (left > 0) throw new Error(`the lots hold ${points - left} points, ${points} were needed`);
  return takes;
}

function spendRecords(state: LoyaltyAccountState) {
  return Object.values(state.orders)
    .filter((order) => order.delivered && order.spendAt !== null)
    .map((order) => ({ eur: order.spendEur, atMs: Date.parse(order.spendAt!) }));
}

export const rollingSpendOf = (state: LoyaltyAccountState, nowMs: number): number => rollingSpend(spendRecords(state), nowMs);

/**
 * What time alone does, up to `nowMs`: lots that came due expire (as far as unreserved points allow), a
 * debt is repaid from what is available, the tier follows the rolling spend, and records past their
 * retention are forgotten. Idempotent for a given `nowMs`: run before and after every command.
 */
export function advance(state: LoyaltyAccountState, nowMs: number): LoyaltyEntry[] {
  const out: LoyaltyEntry[] = [];
  const at = iso(nowMs);
  for (const lot of [...state.lots]) {
    if (Date.parse(lot.expiresAt) > nowMs) break;
    const points = Math.min(lot.remaining, availablePoints(state));
    if (points <= 0) continue;
    emit(state, out, { key: `expire:${lot.id}:${lot.expiredParts + 1}`, kind: 'expire', at, points: -points, reserved: 0, debt: 0, lots: [{ lotId: lot.id, points }] });
  }
  const repay = Math.min(state.debt, availablePoints(state));
  if (repay > 0) {
    const lots = takeFromLots(state, repay);
    emit(state, out, { key: `debt:${state.accountId}:${state.seq + 1}`, kind: 'debt_repaid', at, points: -repay, reserved: 0, debt: -repay, lots });
  }
  const spendEur = rollingSpendOf(state, nowMs);
  const tier = tierForSpend(spendEur).name;
  if (tier !== state.tier) {
    emit(state, out, { key: `tier:${state.accountId}:${state.seq + 1}`, kind: 'tier', at, points: 0, reserved: 0, debt: 0, detail: { tier, previousTier: state.tier, spendEur } });
  }
  forgetOldRecords(state, nowMs);
  return out;
}

function forgetOldRecords(state: LoyaltyAccountState, nowMs: number): void {
  const past = (at: string) => addMonthsUtc(Date.parse(at), retentionMonths) <= nowMs;
  for (const [orderId, order] of Object.entries(state.orders)) {
    const spendGone = order.spendAt === null || spendRollsOutAt(Date.parse(order.spendAt)) <= nowMs;
    if (past(order.lastAt) && spendGone && !state.lots.some((lot) => lot.id === orderId)) {
      delete state.orders[orderId];
      state.closedOrders.push(orderId);
    }
  }
  for (const [orderId, redemption] of Object.entries(state.redemptions)) {
    if (redemption.state !== 'reserved' && past(redemption.at)) {
      delete state.redemptions[orderId];
      state.closedRedemptions.push(orderId);
    }
  }
}

export type CommandOutcome = 'applied' | 'duplicate' | 'invalid';

/** Earns the points of a delivered order, once per order. */
export function deliverOrder(state: LoyaltyAccountState, event: OrderDeliveredEvent, nowMs: number): { entries: LoyaltyEntry[]; outcome: CommandOutcome } {
  const out: LoyaltyEntry[] = [];
  if (!isOrderId(event?.orderId) || !Number.isSafeInteger(event.amount) || event.amount < 0 || typeof event.currency !== 'string' || !isLoyaltyCurrency(event.currency)) {
    return { entries: out, outcome: 'invalid' };
  }
  if (state.closedOrders.includes(event.orderId) || state.orders[event.orderId]?.delivered) return { entries: out, outcome: 'duplicate' };
  const netted = [...new Set((event.refundIds ?? []).filter(isRefundId))];
  const known = state.orders[event.orderId]?.refunds ?? {};
  const refundedBefore = Object.entries(known)
    .filter(([refundId]) => !netted.includes(refundId))
    .reduce((sum, [, refund]) => sum + refund.amount, 0);
  const net = Math.max(0, event.amount - refundedBefore);
  const tier = tierNamed(state.tier);
  const points = pointsEarned(net, event.currency, tier.multiplierPct);
  const deliveredMs = Date.parse(event.deliveredAt);
  const spendAtMs = Number.isNaN(deliveredMs) ? nowMs : Math.min(deliveredMs, nowMs);
  emit(state, out, {
    key: `earn:${event.orderId}`,
    kind: 'earn',
    at: iso(nowMs),
    points,
    reserved: 0,
    debt: 0,
    orderId: event.orderId,
    ...(points > 0 ? { lot: { id: event.orderId, expiresAt: iso(expiryOf(nowMs)) } } : {}),
    spend: { eur: spendInEur(net, event.currency), at: iso(spendAtMs) },
    detail: { amount: event.amount, currency: event.currency, net, multiplierPct: tier.multiplierPct, tier: tier.name, refundIds: netted, refundedBefore },
  });
  return { entries: out, outcome: 'applied' };
}

/** Claws back what a refund's part of an order earned, once per refund id. */
export function refundOrder(state: LoyaltyAccountState, event: OrderRefundedEvent, nowMs: number): { entries: LoyaltyEntry[]; outcome: CommandOutcome } {
  const out: LoyaltyEntry[] = [];
  if (!isOrderId(event?.orderId) || !isRefundId(event.refundId) || !Number.isSafeInteger(event.amount) || event.amount <= 0) return { entries: out, outcome: 'invalid' };
  if (state.closedOrders.includes(event.orderId)) return { entries: out, outcome: 'duplicate' };
  const record = state.orders[event.orderId];
  if (record && (record.refunds[event.refundId] || record.netted.includes(event.refundId))) return { entries: out, outcome: 'duplicate' };
  const base = { key: `clawback:${event.orderId}:${event.refundId}`, kind: 'clawback' as const, at: iso(nowMs), orderId: event.orderId, refundId: event.refundId, reserved: 0 };
  if (!record?.delivered) {
    // Nothing earned yet: remembered, and taken off the amount when the delivery is reported.
    emit(state, out, { ...base, points: 0, debt: 0, detail: { amount: event.amount, reason: 'refunded before the delivery was reported' } });
    return { entries: out, outcome: 'applied' };
  }
  const currency = record.currency!;
  const refundedAfter = Object.values(record.refunds).filter((refund) => refund.afterDelivery).reduce((sum, refund) => sum + refund.amount, 0);
  const netAfter = Math.max(0, record.earnedOn - refundedAfter - event.amount);
  const kept = pointsEarned(netAfter, currency, record.multiplierPct);
  const owed = Math.max(0, record.points - kept - record.clawed);
  const taken = Math.min(owed, availablePoints(state));
  const lots = taken > 0 ? takeFromLots(state, taken, event.orderId) : [];
  const spendDelta = spendInEur(netAfter, currency) - record.spendEur;
  emit(state, out, {
    ...base,
    points: -taken,
    debt: owed - taken,
    ...(lots.length > 0 ? { lots } : {}),
    ...(spendDelta !== 0 ? { spend: { eur: spendDelta, at: record.spendAt! } } : {}),
    detail: { amount: event.amount, currency, owed },
  });
  return { entries: out, outcome: 'applied' };
}

/** Why a redemption cannot be reserved, or null when it can (an identical repeat of a held reservation can: it answers the same). */
export function refuseRedemption(state: LoyaltyAccountState, request: RedeemPointsRequest): RedemptionRefusal | null {
  const requested = typeof request?.points === 'number' ? request.points : 0;
  const available = availablePoints(state);
  const refusal = (reason: RedemptionRefusalReason, field: RedemptionRefusal['field'], message: string): RedemptionRefusal => ({ reason, field, message, requested, available });
  if (!isOrderId(request?.orderId)) return refusal('invalid_request', 'orderId', 'orderId must be the order\'s id (a UUID)');
  if (!Number.isSafeInteger(request.points) || request.points <= 0) return refusal('invalid_request', 'points', 'points must be a positive whole number');
  if (typeof request.currency !== 'string' || !isLoyaltyCurrency(request.currency)) return refusal('unsupported_currency', 'currency', `points cannot pay in ${String(request.currency)}`);
  const held = state.redemptions[request.orderId];
  if (held?.state === 'reserved') {
    return held.points === request.points ? null : refusal('already_reserved', 'orderId', `order ${request.orderId} already holds ${held.points} points`);
  }
  if (held || state.closedRedemptions.includes(request.orderId)) return refusal('redemption_closed', 'orderId', `the redemption of order ${request.orderId} is already ${held?.state ?? 'closed'}`);
  if (request.points > available) return refusal('insufficient_points', 'points', `${request.points} points requested, ${available} available`);
  return null;
}

/** Reserves points for an order (call `refuseRedemption` first). An identical repeat reserves nothing more. */
export function reservePoints(state: LoyaltyAccountState, request: RedeemPointsRequest, nowMs: number): LoyaltyEntry[] {
  const out: LoyaltyEntry[] = [];
  if (state.redemptions[request.orderId]?.state === 'reserved') return out;
  emit(state, out, {
    key: `reserve:${request.orderId}`,
    kind: 'reserve',
    at: iso(nowMs),
    points: 0,
    reserved: request.points,
    debt: 0,
    orderId: request.orderId,
    detail: { currency: request.currency, amount: valueOfPoints(request.points, request.currency) },
  });
  return out;
}

export function redemptionResult(state: LoyaltyAccountState, orderId: string): RedeemPointsResult {
  const held = state.redemptions[orderId]!;
  const currency = held.currency ?? 'EUR';
  return { orderId, points: held.points, value: { amount: valueOfPoints(held.points, currency), currency }, available: availablePoints(state) };
}

/** Spends the points reserved for an order; once (anything but a held reservation changes nothing). */
export function commitRedemption(state: LoyaltyAccountState, orderId: string, nowMs: number): LoyaltyEntry[] {
  const out: LoyaltyEntry[] = [];
  const held = state.redemptions[orderId];
  if (held?.state !== 'reserved') return out;
  const lots = takeFromLots(state, held.points);
  emit(state, out, {
    key: `commit:${orderId}`,
    kind: 'commit',
    at: iso(nowMs),
    points: -held.points,
    reserved: -held.points,
    debt: 0,
    orderId,
    lots,
    detail: { currency: held.currency ?? 'EUR', amount: valueOfPoints(held.points, held.currency ?? 'EUR') },
  });
  return out;
}

/**
 * Gives reserved points back; once. A release for an order with no reservation yet closes it, so a
 * reservation arriving after the checkout gave up is refused rather than held forever.
 */
export function releaseRedemption(state: LoyaltyAccountState, orderId: string, nowMs: number, reason: string): LoyaltyEntry[] {
  const out: LoyaltyEntry[] = [];
  if (!isOrderId(orderId)) return out;
  const held = state.redemptions[orderId];
  if ((held && held.state !== 'reserved') || state.closedRedemptions.includes(orderId)) return out;
  emit(state, out, { key: `release:${orderId}`, kind: 'release', at: iso(nowMs), points: 0, reserved: held ? -held.points : 0, debt: 0, orderId, detail: { reason } });
  return out;
}

/** When time alone next changes something: a lot's expiry or spend leaving the rolling window. */
export function nextDeadline(state: LoyaltyAccountState, nowMs: number): number | undefined {
  let next: number | undefined;
  const consider = (ms: number) => {
    if (ms > nowMs && (next === undefined || ms < next)) next = ms;
  };
  for (const lot of state.lots) consider(Date.parse(lot.expiresAt));
  for (const order of Object.values(state.orders)) {
    if (order.delivered && order.spendAt !== null && order.spendEur !== 0) consider(spendRollsOutAt(Date.parse(order.spendAt)));
  }
  return next;
}

export interface LoyaltySummary {
  accountId: string;
  balance: number;
  reserved: number;
  available: number;
  debt: number;
  tier: TierName;
  multiplierPct: number;
  rollingSpendEur: number;
  nextTier: { name: TierName; missingEur: number } | null;
  lots: { id: string; earnedAt: string; expiresAt: string; remaining: number }[];
  openRedemptions: { orderId: string; points: number }[];
  nextDeadline: string | null;
  /** The last ledger entry decided. */
  seq: number;
}

export function summarise(state: LoyaltyAccountState, nowMs: number): LoyaltySummary {
  const spend = rollingSpendOf(state, nowMs);
  const next = nextTierFor(spend);
  const deadline = nextDeadline(state, nowMs);
  return {
    accountId: state.accountId,
    balance: state.balance,
    reserved: state.reserved,
    available: availablePoints(state),
    debt: state.debt,
    tier: state.tier,
    multiplierPct: tierNamed(state.tier).multiplierPct,
    rollingSpendEur: spend,
    nextTier: next ? { name: next.tier.name, missingEur: next.missingEur } : null,
    lots: state.lots.map(({ id, earnedAt, expiresAt, remaining }) => ({ id, earnedAt, expiresAt, remaining })),
    openRedemptions: Object.entries(state.redemptions)
      .filter(([, redemption]) => redemption.state === 'reserved')
      .map(([orderId, redemption]) => ({ orderId, points: redemption.points })),
    nextDeadline: deadline === undefined ? null : iso(deadline),
    seq: state.seq,
  };
}

/**
 * The promotions engine: given the promotions that exist, a cart and who is buying, which ones apply and
 * how much each takes off which line. Pure and deterministic (the checkout's pricing activity and the
 * admin preview call it with what they read; the same inputs always give the same answer, to the cent).
 *
 * Rules of the game, the way shoppers and merchandisers expect them:
 * - A promotion applies when every condition holds: its window, its currency, a coupon code presented
 *   (for coupon promotions), a minimum spend on the lines it targets, the customer's segment, first order.
 * - Promotions are taken by priority (highest first, then id). An `exclusive` one applies only alone: it
 *   is skipped once another applied, and nothing applies after it. `stackable` ones add up.
 * - Each discount is taken from what is left of a line after the discounts before it, so a line never
 *   goes below zero however many promotions stack; an order-wide discount is spread over the lines pro
 *   rata (largest remainder), which is what VAT and later refunds need.
 * Usage budgets (a 10-use coupon) are not decided here but where they are reserved, in one conditional
 * update; the engine only refuses what is known to be spent already, to say why in a preview.
 */

export type PromotionEffect =
  /** A share of the targeted lines' amount, in basis points (1500 = 15 %). */
  | { type: 'percent_off'; basisPoints: number }
  /** A fixed amount off the targeted lines together (minor units), spread pro rata, never more than they cost. */
  | { type: 'amount_off_order'; amount: number }
  /** A fixed amount off each targeted unit (minor units), never more than the unit's price. */
  | { type: 'amount_off_each'; amount: number }
  /** Among the targeted units, for every `buy` + `get` units the `get` cheapest are `basisPoints` off (10000 = free). */
  | { type: 'buy_x_get_y'; buy: number; get: number; basisPoints: number }
  | { type: 'free_shipping' };

export interface PromotionTarget {
  skus?: string[];
  productIds?: string[];
  categoryIds?: string[];
}

export interface Promotion {
  id: string;
  name: string;
  /** Present for coupon promotions: the shopper must enter it (compared case-insensitively). */
  code?: string;
  priority: number;
  stacking: 'exclusive' | 'stackable';
  currency: string;
  effect: PromotionEffect;
  /** Which lines the discount is on and count towards `minSpend`; none → every line. */
  target?: PromotionTarget;
  /** Minor units the targeted lines must reach (before any discount). */
  minSpend?: number;
  /** The customer must be in one of these segments. */
  segments?: string[];
  firstOrderOnly?: boolean;
  startsAt?: Date;
  endsAt?: Date;
  active: boolean;
}

export interface PromotionLine {
  sku: string;
  productId: string;
  categoryIds: string[];
  unitAmount: number;
  quantity: number;
}

export interface PromotionContext {
  currency: string;
  lines: PromotionLine[];
  shippingAmount: number;
  now: Date;
  /** Coupon codes the shopper entered. */
  codes: string[];
  customer?: { segments: string[]; firstOrder: boolean };
  /** Promotions whose budget is known to be spent (for this customer or overall): refused with this reason. */
  exhausted?: Map<string, 'usage_limit_reached' | 'customer_limit_reached'>;
}

export type RefusalReason =
  | 'unknown_code'
  | 'inactive'
  | 'not_started'
  | 'expired'
  | 'other_currency'
  | 'min_spend_not_reached'
  | 'no_matching_lines'
  | 'customer_not_eligible'
  | 'first_order_only'
  | 'usage_limit_reached'
  | 'customer_limit_reached'
  | 'not_combinable'
  | 'nothing_to_discount';

export interface AppliedPromotion {
  promotionId: string;
  name: string;
  code?: string;
  /** Total taken off, lines and shipping, in minor units. */
  amount: number;
  /** Minor units off each line, by sku. */
  lines: Record<string, number>;
  shippingAmount: number;
}

export interface PromotionOutcome {
  applied: AppliedPromotion[];
  /** Promotions considered and not applied, with why; for a coupon the shopper typed, the reason to show. */
  refused: { promotionId?: string; code?: string; reason: RefusalReason }[];
  /** Minor units off each line, all promotions together, by sku. */
  lineDiscounts: Record<string, number>;
  shippingDiscount: number;
  totalDiscount: number;
}

const normalise = (code: string) => code.trim().toUpperCase();

function targets(promotion: Promotion, line: PromotionLine): boolean {
  const target = promotion.target;
  if (!target || (!target.skus?.length && !target.productIds?.length && !target.categoryIds?.length)) return true;
  return (
    (target.skus?.includes(line.sku) ?? false) ||
    (target.productIds?.includes(line.productId) ?? false) ||
    line.categoryIds.some((category) => target.categoryIds?.includes(category) ?? false)
  );
}

/** Why `promotion` cannot apply to this context, before looking at what is left to discount; undefined when it can. */
function refusalOf(promotion: Promotion, context: PromotionContext, codes: Set<string>): RefusalReason | undefined {
  if (!promotion.active) return 'inactive';
  if (promotion.startsAt && context.now < promotion.startsAt) return 'not_started';
  if (promotion.endsAt && context.now >= promotion.endsAt) return 'expired';
  if (promotion.currency !== context.currency) return 'other_currency';
  const exhausted = context.exhausted?.get(promotion.id);
  if (exhausted) return exhausted;
  if (promotion.segments?.length && !promotion.segments.some((segment) => context.customer?.segments.includes(segment))) return 'customer_not_eligible';
  if (promotion.firstOrderOnly && !context.customer?.firstOrder) return 'first_order_only';
  const targeted = context.lines.filter((line) => targets(promotion, line));
  if (targeted.length === 0) return 'no_matching_lines';
  const spend = targeted.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
  if (promotion.minSpend !== undefined && spend < promotion.minSpend) return 'min_spend_not_reached';
  if (promotion.code !== undefined && !codes.has(normalise(promotion.code))) return 'unknown_code';
  return undefined;
}

/** Half up, in integers: `amount × basisPoints / 10000`. */
export function shareOf(amount: number, basisPoints: number): number {
  return Math.floor((amount * basisPoints + 5_000) / 10_000);
}

/**
 * Spreads `total` over `weights` in proportion (largest remainder, ties to the earlier entry), never
 * giving an entry more than its weight. The parts add up to min(total, Σ weights) exactly.
 */
export function spreadProRata(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const amount = Math.min(total, sum);
  if (amount <= 0 || sum === 0) return weights.map(() => 0);
  const exact = weights.map((weight) => (amount * weight) / sum);
  const parts = exact.map(Math.floor);
  let left = amount - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (left === 0) break;
    if (parts[index]! < weights[index]!) {
      parts[index]! += 1;
      left -= 1;
    }
  }
  return parts;
}

/** Minor units this promotion takes off each targeted line, given what is left of every line. */
function lineDiscountsOf(promotion: Promotion, lines: PromotionLine[], left: Map<string, number>): Map<string, number> {
  const targeted = lines.filter((line) => targets(promotion, line) && (left.get(line.sku) ?? 0) > 0);
  const result = new Map<string, number>();
  const effect = promotion.effect;
  switch (effect.type) {
    case 'percent_off':
      for (const line of targeted) result.set(line.sku, Math.min(left.get(line.sku)!, shareOf(left.get(line.sku)!, effect.basisPoints)));
      break;
    case 'amount_off_order': {
      const parts = spreadProRata(effect.amount, targeted.map((line) => left.get(line.sku)!));
      targeted.forEach((line, index) => result.set(line.sku, parts[index]!));
      break;
    }
    case 'amount_off_each':
      for (const line of targeted) result.set(line.sku, Math.min(left.get(line.sku)!, Math.min(effect.amount, line.unitAmount) * line.quantity));
      break;
    case 'buy_x_get_y': {
      // Every targeted unit, cheapest first (then by sku): of each group of buy + get units, the get cheapest are discounted.
      const units = targeted.flatMap((line) => Array.from({ length: line.quantity }, () => ({ sku: line.sku, amount: line.unitAmount })));
      units.sort((a, b) => a.amount - b.amount || a.sku.localeCompare(b.sku));
      const free = Math.floor(units.length / (effect.buy + effect.get)) * effect.get;
      for (const unit of units.slice(0, free)) result.set(unit.sku, (result.get(unit.sku) ?? 0) + shareOf(unit.amount, effect.basisPoints));
      for (const [sku, amount] of result) result.set(sku, Math.min(amount, left.get(sku)!));
      break;
    }
    case 'free_shipping':
      break;
  }
  return result;
}

export function applyPromotions(promotions: Promotion[], context: PromotionContext): PromotionOutcome {
  const codes = new Set(context.codes.map(normalise));
  const known = new Set(promotions.filter((p) => p.code !== undefined).map((p) => normalise(p.code!)));
  const refused: PromotionOutcome['refused'] = [...codes].filter((code) => !known.has(code)).map((code) => ({ code, reason: 'unknown_code' as const }));
  const left = new Map(context.lines.map((line) => [line.sku, line.unitAmount * line.quantity]));
  let shippingLeft = context.shippingAmount;
  const applied: AppliedPromotion[] = [];
  let closed = false;

  const ordered = [...promotions].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  for (const promotion of ordered) {
    const presented = promotion.code !== undefined && codes.has(normalise(promotion.code));
    // An automatic promotion that does not apply is not news; a coupon the shopper typed always gets an answer.
    const refuse = (reason: RefusalReason) => {
      if (promotion.code === undefined || presented) refused.push({ promotionId: promotion.id, ...(promotion.code ? { code: promotion.code } : {}), reason });
    };
    const reason = refusalOf(promotion, context, codes);
    if (reason) {
      if (reason !== 'unknown_code') refuse(reason);
      continue;
    }
    if (closed || (promotion.stacking === 'exclusive' && applied.length > 0)) {
      refuse('not_combinable');
      continue;
    }
    const lines = lineDiscountsOf(promotion, context.lines, left);
    const shippingAmount = promotion.effect.type === 'free_shipping' ? shippingLeft : 0;
    const amount = [...lines.values()].reduce((a, b) => a + b, 0) + shippingAmount;
    if (amount === 0) {
      refuse('nothing_to_discount');
      continue;
    }
    for (const [sku, value] of lines) left.set(sku, left.get(sku)! - value);
    shippingLeft -= shippingAmount;
    applied.push({
      promotionId: promotion.id,
      name: promotion.name,
      ...(promotion.code ? { code: promotion.code } : {}),
      amount,
      lines: Object.fromEntries([...lines].filter(([, value]) => value > 0)),
      shippingAmount,
    });
    if (promotion.stacking === 'exclusive') closed = true;
  }

  const lineDiscounts: Record<string, number> = {};
  for (const line of context.lines) {
    const off = line.unitAmount * line.quantity - left.get(line.sku)!;
    if (off > 0) lineDiscounts[line.sku] = off;
  }
  const shippingDiscount = context.shippingAmount - shippingLeft;
  return {
    applied,
    refused,
    lineDiscounts,
    shippingDiscount,
    totalDiscount: Object.values(lineDiscounts).reduce((a, b) => a + b, 0) + shippingDiscount,
  };
}

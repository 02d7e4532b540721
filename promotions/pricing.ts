/**
 * Promotions as pricing sees them: what may apply to this cart, for this customer, now — read from the
 * database, then decided by the pure engine. The cart view, the admin preview and the checkout's
 * pricing step all go through here, so the shopper is shown exactly what the order will be charged.
 */
import { candidatePromotions, exhaustedPromotions, isFirstOrder, segmentsOf, targetingFactsOf, toPromotion } from '../db/promotions';
import type { Executor } from '../platform/postgres';
import { priceCart, type PricedCart, type PricingInput } from '../orders/pricing';
import { applyPromotions, type PromotionOutcome, type RefusalReason } from './engine';

export interface PromotionRequest {
  currency: string;
  lines: { sku: string; unitAmount: number; quantity: number }[];
  shippingAmount: number;
  codes: string[];
  accountId?: string;
  now: Date;
}

export async function evaluatePromotions(db: Executor, request: PromotionRequest): Promise<PromotionOutcome> {
  const rows = await candidatePromotions(db, request.currency, request.codes);
  if (rows.length === 0 && request.codes.length === 0) return { applied: [], refused: [], lineDiscounts: {}, shippingDiscount: 0, totalDiscount: 0 };
  const facts = await targetingFactsOf(db, request.lines.map((line) => line.sku));
  const customer = request.accountId ? { segments: await segmentsOf(db, request.accountId), firstOrder: await isFirstOrder(db, request.accountId) } : undefined;
  return applyPromotions(rows.map(toPromotion), {
    currency: request.currency,
    lines: request.lines
      .filter((line) => line.quantity > 0 && line.unitAmount > 0)
      .map((line) => ({ ...line, productId: facts.get(line.sku)?.productId ?? '', categoryIds: facts.get(line.sku)?.categoryIds ?? [] })),
    shippingAmount: request.shippingAmount,
    now: request.now,
    codes: request.codes,
    ...(customer ? { customer } : {}),
    exhausted: await exhaustedPromotions(db, rows, request.accountId),
  });
}

export interface PriceWithPromotionsInput extends PricingInput {
  codes: string[];
  accountId?: string;
  now: Date;
}

export interface PromotedCart extends PricedCart {
  /** The promotions that apply, what each takes off. */
  promotions: { promotionId: string; name: string; code?: string; amount: number }[];
  /** Each coupon code on the cart, and why it does not apply when it does not. */
  coupons: { code: string; applied: boolean; reason?: RefusalReason }[];
}

/**
 * The cart priced with its promotions: first as it stands, then the engine decides on those figures,
 * then the discounts are priced in (VAT on what is really paid). Lines with a problem count for nothing.
 */
export async function priceWithPromotions(db: Executor, input: PriceWithPromotionsInput): Promise<PromotedCart> {
  const base = priceCart(input);
  const outcome = await evaluatePromotions(db, {
    currency: input.currency,
    lines: base.lines.filter((line) => !line.problem).map((line) => ({ sku: line.sku, unitAmount: line.unitAmount, quantity: line.quantity })),
    shippingAmount: base.shippingAmount,
    codes: input.codes,
    ...(input.accountId ? { accountId: input.accountId } : {}),
    now: input.now,
  });
  const priced = outcome.totalDiscount > 0 ? priceCart({ ...input, discounts: { lines: outcome.lineDiscounts, shipping: outcome.shippingDiscount } }) : base;
  const appliedCodes = new Set(outcome.applied.flatMap((applied) => (applied.code ? [applied.code.toUpperCase()] : [])));
  return {
    ...priced,
    promotions: outcome.applied.map(({ promotionId, name, code, amount }) => ({ promotionId, name, ...(code ? { code } : {}), amount })),
    coupons: input.codes.map((raw) => {
      const code = raw.trim().toUpperCase();
      if (appliedCodes.has(code)) return { code, applied: true };
      const refusal = outcome.refused.find((refused) => refused.code?.toUpperCase() === code);
      return { code, applied: false, reason: refusal?.reason ?? 'nothing_to_discount' };
    }),
  };
}

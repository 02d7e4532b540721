/**
 * Promotions as pricing sees them: what may apply to this cart, for this customer, now — read from the
 * database, then decided by the pure engine. The cart view, the admin preview and the checkout's
 * pricing step all go through here, so the shopper is shown exactly what the order will be charged.
 */
import { candidatePromotions, exhaustedPromotions, isFirstOrder, segmentsOf, targetingFactsOf, toPromotion } from '../db/promotions';
import type { Executor } from '../platform/postgres';
import { applyPromotions, type PromotionOutcome } from './engine';

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

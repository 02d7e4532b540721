import type { RedemptionRefusal } from '../../loyalty/account';
import type { ProblemInit } from '../problem';

/**
 * A refused redemption as problem+json, for any route that redeems points (the preview here, checkout
 * when it redeems): 422 naming the body field for what the shopper asked wrong (more points than held,
 * a bad amount, a currency points cannot pay in), 409 when the order already has a redemption.
 * `field` is the request's name for it (checkout may call it `loyaltyPoints`).
 */
export function redemptionProblem(refusal: RedemptionRefusal, field: string = refusal.field): ProblemInit {
  const extra = { reason: refusal.reason, requested: refusal.requested, available: refusal.available };
  if (refusal.reason === 'already_reserved' || refusal.reason === 'redemption_closed') {
    return { status: 409, slug: 'loyalty-redemption-conflict', title: 'The order already has a points redemption', detail: refusal.message, extra };
  }
  return {
    status: 422,
    slug: refusal.reason === 'insufficient_points' ? 'insufficient-points' : 'validation',
    title: refusal.reason === 'insufficient_points' ? 'Not enough points' : 'Request validation failed',
    detail: refusal.message,
    errors: [{ in: 'body', field, message: refusal.message }],
    extra,
  };
}

/** The promotions engine on its own (pure): every rule kind, every condition, stacking and priority, rounding. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyPromotions, spreadProRata, type Promotion, type PromotionContext } from '../../promotions/engine';

const now = new Date('2026-11-25T12:00:00Z');
const mug = { sku: 'MUG', productId: 'p-mug', categoryIds: ['kitchen'], unitAmount: 1500, quantity: 2 };
const tea = { sku: 'TEA', productId: 'p-tea', categoryIds: ['kitchen', 'food'], unitAmount: 899, quantity: 1 };
const lamp = { sku: 'LAMP', productId: 'p-lamp', categoryIds: ['living'], unitAmount: 4999, quantity: 1 };

function context(overrides: Partial<PromotionContext> = {}): PromotionContext {
  return { currency: 'EUR', lines: [mug, tea, lamp], shippingAmount: 590, now, codes: [], customer: { segments: [], firstOrder: false }, ...overrides };
}

let seq = 0;
function promo(overrides: Partial<Promotion>): Promotion {
  seq += 1;
  return { id: `promo-${String(seq).padStart(3, '0')}`, name: `Promotion ${seq}`, priority: 0, stacking: 'stackable', currency: 'EUR', effect: { type: 'percent_off', basisPoints: 1000 }, active: true, ...overrides };
}

const subtotal = 1500 * 2 + 899 + 4999;

describe('promotion effects', () => {
  test('percent off the order: every line, rounded half up per line', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'percent_off', basisPoints: 1000 } })], context());
    assert.deepEqual(outcome.lineDiscounts, { MUG: 300, TEA: 90, LAMP: 500 });
    assert.equal(outcome.totalDiscount, 890);
    assert.equal(outcome.shippingDiscount, 0);
  });

  test('percent off matching lines only (by category)', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'percent_off', basisPoints: 2000 }, target: { categoryIds: ['food'] } })], context());
    assert.deepEqual(outcome.lineDiscounts, { TEA: 180 });
  });

  test('a fixed amount off the order is spread pro rata and adds up exactly', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'amount_off_order', amount: 1000 } })], context());
    const parts = Object.values(outcome.lineDiscounts);
    assert.equal(parts.reduce((a, b) => a + b, 0), 1000);
    assert.deepEqual(outcome.lineDiscounts, { MUG: 337, TEA: 101, LAMP: 562 }, '337.15, 101.03, 561.81: the largest remainder gets the last cent');
  });

  test('a fixed amount off the order never exceeds what the lines cost', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'amount_off_order', amount: 1_000_000 } })], context());
    assert.equal(outcome.totalDiscount, subtotal);
  });

  test('a fixed amount off each matching unit (by product), capped at the unit price', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'amount_off_each', amount: 2000 }, target: { productIds: ['p-mug', 'p-tea'] } })], context());
    assert.deepEqual(outcome.lineDiscounts, { MUG: 3000, TEA: 899 });
  });

  test('buy 2 get 1 free: the cheapest unit of each group of three', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'buy_x_get_y', buy: 2, get: 1, basisPoints: 10_000 }, target: { categoryIds: ['kitchen'] } })], context());
    assert.deepEqual(outcome.lineDiscounts, { TEA: 899 });
    const four = applyPromotions([promo({ effect: { type: 'buy_x_get_y', buy: 1, get: 1, basisPoints: 5_000 }, target: { skus: ['MUG'] } })], context());
    assert.deepEqual(four.lineDiscounts, { MUG: 750 }, 'buy one, get the second half price');
    const short = applyPromotions([promo({ effect: { type: 'buy_x_get_y', buy: 3, get: 1, basisPoints: 10_000 }, target: { skus: ['MUG'] } })], context());
    assert.equal(short.applied.length, 0, 'two mugs are not enough for buy 3 get 1');
    assert.equal(short.refused[0]?.reason, 'nothing_to_discount');
  });

  test('free shipping', () => {
    const outcome = applyPromotions([promo({ effect: { type: 'free_shipping' } })], context());
    assert.equal(outcome.shippingDiscount, 590);
    assert.deepEqual(outcome.lineDiscounts, {});
    assert.equal(outcome.applied[0]?.shippingAmount, 590);
  });
});

describe('conditions', () => {
  test('minimum spend counts the targeted lines, before discounts', () => {
    const rule = promo({ effect: { type: 'free_shipping' }, minSpend: 5000, target: { categoryIds: ['kitchen'] } });
    assert.equal(applyPromotions([rule], context()).refused[0]?.reason, 'min_spend_not_reached');
    assert.equal(applyPromotions([{ ...rule, minSpend: 3899 }], context()).shippingDiscount, 590);
  });

  test('validity window: not before it starts, not from the moment it ends', () => {
    const rule = promo({ startsAt: new Date('2026-12-01T00:00:00Z'), endsAt: new Date('2026-12-31T00:00:00Z') });
    assert.equal(applyPromotions([rule], context()).refused[0]?.reason, 'not_started');
    assert.equal(applyPromotions([rule], context({ now: new Date('2026-12-31T00:00:00Z') })).refused[0]?.reason, 'expired');
    assert.equal(applyPromotions([rule], context({ now: new Date('2026-12-30T23:59:59Z') })).applied.length, 1);
  });

  test('segment and first order targeting', () => {
    const vip = promo({ segments: ['vip'] });
    assert.equal(applyPromotions([vip], context()).refused[0]?.reason, 'customer_not_eligible');
    assert.equal(applyPromotions([vip], context({ customer: { segments: ['vip'], firstOrder: false } })).applied.length, 1);
    const welcome = promo({ firstOrderOnly: true });
    assert.equal(applyPromotions([welcome], context()).refused[0]?.reason, 'first_order_only');
    assert.equal(applyPromotions([welcome], context({ customer: { segments: [], firstOrder: true } })).applied.length, 1);
    assert.equal(applyPromotions([welcome], context({ customer: undefined })).refused[0]?.reason, 'first_order_only', 'an anonymous cart is no first order yet');
  });

  test('currency, inactive and no matching line', () => {
    assert.equal(applyPromotions([promo({ currency: 'USD' })], context()).refused[0]?.reason, 'other_currency');
    assert.equal(applyPromotions([promo({ active: false })], context()).refused[0]?.reason, 'inactive');
    assert.equal(applyPromotions([promo({ target: { skus: ['NOPE'] } })], context()).refused[0]?.reason, 'no_matching_lines');
  });

  test('coupons apply only when entered (any case); an automatic one needs nothing', () => {
    const coupon = promo({ code: 'WELCOME10' });
    const silent = applyPromotions([coupon], context());
    assert.equal(silent.applied.length, 0);
    assert.deepEqual(silent.refused, [], 'a coupon nobody typed is not a refusal to show');
    assert.equal(applyPromotions([coupon], context({ codes: [' welcome10 '] })).applied[0]?.code, 'WELCOME10');
    assert.deepEqual(applyPromotions([coupon], context({ codes: ['NOPE'] })).refused, [{ code: 'NOPE', reason: 'unknown_code' }]);
  });

  test('a coupon whose budget is spent is refused with the reason', () => {
    const coupon = promo({ code: 'TEN' });
    const outcome = applyPromotions([coupon], context({ codes: ['TEN'], exhausted: new Map([[coupon.id, 'usage_limit_reached']]) }));
    assert.deepEqual(outcome.refused, [{ promotionId: coupon.id, code: 'TEN', reason: 'usage_limit_reached' }]);
  });

  test('an entered coupon that does not qualify says why', () => {
    const coupon = promo({ code: 'BIG', minSpend: 100_000 });
    assert.deepEqual(applyPromotions([coupon], context({ codes: ['big'] })).refused, [{ promotionId: coupon.id, code: 'BIG', reason: 'min_spend_not_reached' }]);
  });
});

describe('stacking and priority', () => {
  test('stackable promotions add up, each on what the one before left', () => {
    const first = promo({ priority: 10, effect: { type: 'percent_off', basisPoints: 5000 }, target: { skus: ['LAMP'] } });
    const second = promo({ priority: 5, effect: { type: 'amount_off_order', amount: 3000 }, target: { skus: ['LAMP'] } });
    const outcome = applyPromotions([second, first], context());
    assert.deepEqual(outcome.applied.map((a) => a.promotionId), [first.id, second.id], 'highest priority first');
    assert.equal(outcome.lineDiscounts.LAMP, 2500 + 2499, 'the second takes at most what is left');
    assert.ok(outcome.lineDiscounts.LAMP! <= 4999);
  });

  test('an exclusive promotion of higher priority applies alone', () => {
    const exclusive = promo({ priority: 10, stacking: 'exclusive', effect: { type: 'percent_off', basisPoints: 2000 } });
    const stackable = promo({ priority: 1, effect: { type: 'free_shipping' } });
    const outcome = applyPromotions([stackable, exclusive], context());
    assert.deepEqual(outcome.applied.map((a) => a.promotionId), [exclusive.id]);
    assert.deepEqual(outcome.refused, [{ promotionId: stackable.id, reason: 'not_combinable' }]);
  });

  test('an exclusive promotion of lower priority is skipped once another applied', () => {
    const stackable = promo({ priority: 10, effect: { type: 'free_shipping' } });
    const exclusive = promo({ priority: 1, stacking: 'exclusive', code: 'SOLO', effect: { type: 'percent_off', basisPoints: 5000 } });
    const outcome = applyPromotions([exclusive, stackable], context({ codes: ['SOLO'] }));
    assert.deepEqual(outcome.applied.map((a) => a.promotionId), [stackable.id]);
    assert.deepEqual(outcome.refused, [{ promotionId: exclusive.id, code: 'SOLO', reason: 'not_combinable' }]);
  });

  test('same priority: ordered by id, so the answer never depends on the input order', () => {
    const a = promo({ effect: { type: 'amount_off_order', amount: 4000 } });
    const b = promo({ effect: { type: 'amount_off_order', amount: 4000 } });
    assert.deepEqual(applyPromotions([b, a], context()), applyPromotions([a, b], context()));
  });

  test('however many stack, no line goes below zero and the total is the sum of the lines and shipping', () => {
    const many = Array.from({ length: 8 }, (_, i) => promo({ priority: i, effect: i % 2 ? { type: 'percent_off', basisPoints: 4000 } : { type: 'amount_off_order', amount: 2500 } }));
    const outcome = applyPromotions([...many, promo({ effect: { type: 'free_shipping' } })], context());
    for (const line of context().lines) assert.ok((outcome.lineDiscounts[line.sku] ?? 0) <= line.unitAmount * line.quantity);
    const sum = Object.values(outcome.lineDiscounts).reduce((x, y) => x + y, 0) + outcome.shippingDiscount;
    assert.equal(outcome.totalDiscount, sum);
    assert.equal(outcome.applied.reduce((x, y) => x + y.amount, 0), sum);
  });
});

describe('spreadProRata', () => {
  test('parts add up exactly and never exceed their weight', () => {
    for (const [total, weights] of [
      [100, [1, 1, 1]],
      [7, [3, 3, 3]],
      [1000, [3000, 899, 4999]],
      [5, [1, 0, 1]],
      [10, [1, 2]],
    ] as [number, number[]][]) {
      const parts = spreadProRata(total, weights);
      assert.equal(parts.reduce((a, b) => a + b, 0), Math.min(total, weights.reduce((a, b) => a + b, 0)));
      parts.forEach((part, i) => assert.ok(part <= weights[i]!));
    }
    assert.deepEqual(spreadProRata(100, [1, 1, 1]), [1, 1, 1]);
    assert.deepEqual(spreadProRata(2, [1, 1, 1]), [1, 1, 0], 'ties go to the earlier entry');
  });
});

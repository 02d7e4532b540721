/**
 * Promotion budgets in real Postgres (db/promotions.ts): a 10-use coupon under 100 racing reservations,
 * per-customer limits under a race of one customer's orders, release and commit acting once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import {
  candidatePromotions,
  commitRedemptions,
  exhaustedPromotions,
  insertPromotion,
  promotionById,
  PromotionUnavailable,
  redemptionsOf,
  releaseRedemptions,
  reserveRedemptions,
  targetingFactsOf,
} from '../../db/promotions';
import { upsertProduct } from '../../db/catalog';
import { categories } from '../../db/schema/catalog';
import { evaluatePromotions } from '../../promotions/pricing';
import { promotions } from '../../db/schema/marketing';
import { connectPostgres, type Postgres } from '../../platform/postgres';

const run = randomUUID().slice(0, 8).toUpperCase();
let pg: Postgres;
before(() => {
  // Enough connections for the races below to really run side by side.
  pg = connectPostgres(process.env.DATABASE_URL!, { max: 20, applicationName: 'comptoir-test-promotions' });
});
after(() => pg.close());

const coupon = (code: string, limits: { usageLimit?: number; perCustomerLimit?: number } = {}) =>
  insertPromotion(pg.db, { name: code, code: `${code}-${run}`, currency: 'EUR', effect: { type: 'percent_off', basisPoints: 1000 }, ...limits });

/** Reserves in a transaction, as the checkout's pricing step does; resolves with the refusal reason or 'held'. */
const reserve = (promotionId: string, orderId: string, accountId?: string) =>
  pg.db
    .transaction((tx) => reserveRedemptions(tx, { orderId, ...(accountId ? { accountId } : {}), redemptions: [{ promotionId, amount: 100 }] }))
    .then(
      () => 'held' as const,
      (error: unknown) => {
        if (error instanceof PromotionUnavailable) return error.reason;
        throw error;
      },
    );

describe('promotion budgets', () => {
  test('100 racing orders for a 10-use coupon: exactly 10 hold it, the budget never goes over', async () => {
    const promotion = await coupon('TEN', { usageLimit: 10 });
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => reserve(promotion.id, randomUUID(), randomUUID())));
    assert.equal(outcomes.filter((o) => o === 'held').length, 10);
    assert.equal(outcomes.filter((o) => o === 'usage_limit_reached').length, 90);
    assert.equal((await promotionById(pg.db, promotion.id))!.used, 10);
    const exhausted = await exhaustedPromotions(pg.db, [(await promotionById(pg.db, promotion.id))!], undefined);
    assert.equal(exhausted.get(promotion.id), 'usage_limit_reached');
  });

  test('a use given back by a compensation can be taken by the next order; releasing twice gives back once', async () => {
    const promotion = await coupon('ONE', { usageLimit: 1 });
    const first = randomUUID();
    assert.equal(await reserve(promotion.id, first), 'held');
    assert.equal(await reserve(promotion.id, randomUUID()), 'usage_limit_reached');
    const [a, b] = await Promise.all([pg.db.transaction((tx) => releaseRedemptions(tx, first)), pg.db.transaction((tx) => releaseRedemptions(tx, first))]);
    assert.equal(a + b, 1, 'two concurrent releases give the use back once');
    assert.equal((await promotionById(pg.db, promotion.id))!.used, 0);
    assert.equal(await reserve(promotion.id, randomUUID()), 'held');
  });

  test('reserving again for the same order takes nothing more (a retried pricing step)', async () => {
    const promotion = await coupon('RETRY', { usageLimit: 5 });
    const order = randomUUID();
    assert.equal(await reserve(promotion.id, order), 'held');
    assert.equal(await reserve(promotion.id, order), 'held');
    assert.equal((await promotionById(pg.db, promotion.id))!.used, 1);
    assert.equal((await redemptionsOf(pg.db, order)).length, 1);
  });

  test('a committed use stays spent: a release after commit gives nothing back', async () => {
    const promotion = await coupon('PAID', { usageLimit: 2 });
    const order = randomUUID();
    assert.equal(await reserve(promotion.id, order), 'held');
    assert.equal(await commitRedemptions(pg.db, order), 1);
    assert.equal(await commitRedemptions(pg.db, order), 0, 'committing again changes nothing');
    assert.equal(await pg.db.transaction((tx) => releaseRedemptions(tx, order)), 0);
    assert.equal((await promotionById(pg.db, promotion.id))!.used, 1);
    assert.equal((await redemptionsOf(pg.db, order))[0]?.state, 'committed');
  });

  test('per-customer limit holds when one customer races 10 orders', async () => {
    const promotion = await coupon('ONCE', { perCustomerLimit: 1 });
    const customer = randomUUID();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => reserve(promotion.id, randomUUID(), customer)));
    assert.deepEqual(outcomes.filter((o) => o === 'held').length, 1);
    assert.ok(outcomes.filter((o) => o !== 'held').every((o) => o === 'customer_limit_reached'));
    assert.equal((await promotionById(pg.db, promotion.id))!.used, 1, 'the refused ones gave their use back (rollback)');
    assert.equal(await reserve(promotion.id, randomUUID(), randomUUID()), 'held', 'another customer still can');
    const exhausted = await exhaustedPromotions(pg.db, [(await promotionById(pg.db, promotion.id))!], customer);
    assert.equal(exhausted.get(promotion.id), 'customer_limit_reached');
  });

  test('all or nothing: when the second promotion is spent, the first is not held either', async () => {
    const open = await coupon('OPEN', { usageLimit: 10 });
    const spent = await coupon('SPENT', { usageLimit: 1 });
    assert.equal(await reserve(spent.id, randomUUID()), 'held');
    const order = randomUUID();
    await assert.rejects(
      pg.db.transaction((tx) => reserveRedemptions(tx, { orderId: order, redemptions: [{ promotionId: open.id, amount: 10 }, { promotionId: spent.id, amount: 10 }] })),
      PromotionUnavailable,
    );
    assert.equal((await promotionById(pg.db, open.id))!.used, 0);
    assert.deepEqual(await redemptionsOf(pg.db, order), []);
  });

  test('the database refuses a budget that would go over, whatever the code does', async () => {
    const promotion = await coupon('GUARD', { usageLimit: 1 });
    await assert.rejects(pg.db.update(promotions).set({ used: 2 }).where(eq(promotions.id, promotion.id)), (error: Error) => /promotions_used/.test(String((error.cause as Error | undefined)?.message)));
  });

  test('candidates: automatic promotions of the currency and the coupons entered, in any case', async () => {
    const automatic = await insertPromotion(pg.db, { name: `auto ${run}`, currency: 'CHF', effect: { type: 'free_shipping' } });
    await insertPromotion(pg.db, { name: `off ${run}`, currency: 'CHF', active: false, effect: { type: 'free_shipping' } });
    const code = await coupon('CANDIDATE');
    const found = await candidatePromotions(pg.db, 'CHF', [` candidate-${run.toLowerCase()} `]);
    assert.deepEqual(found.map((row) => row.id).sort(), [automatic.id, code.id].sort());
  });
});

describe('promotions on a real cart (promotions/pricing.ts)', () => {
  test('a category promotion covers products filed in its sub-categories; coupons and first orders as the engine says', async () => {
    const top = `promo-${run.toLowerCase()}`;
    const sku = `PROMO-${run}-CUP`;
    const other = `PROMO-${run}-LAMP`;
    await pg.db.transaction(async (tx) => {
      const chain = [
        { path: top, slug: top, name: 'Promo kitchen', parentPath: null },
        { path: `${top}/cups`, slug: 'cups', name: 'Cups', parentPath: top },
      ];
      await upsertProduct(tx, { slug: `cup-${run.toLowerCase()}`, title: 'Cup', description: '', status: 'published', attributes: {}, categories: [chain], variants: [{ sku, title: 'Cup', options: {}, prices: [{ currency: 'EUR', amount: 1200 }] }] });
      await upsertProduct(tx, { slug: `lamp-${run.toLowerCase()}`, title: 'Lamp', description: '', status: 'published', attributes: {}, categories: [], variants: [{ sku: other, title: 'Lamp', options: {}, prices: [{ currency: 'EUR', amount: 3000 }] }] });
    });
    const [topCategory] = await pg.db.select({ id: categories.id }).from(categories).where(eq(categories.path, top));
    const facts = await targetingFactsOf(pg.db, [sku, other]);
    assert.ok(facts.get(sku)!.categoryIds.includes(topCategory!.id), 'the ancestor category counts');
    assert.deepEqual(facts.get(other)!.categoryIds, []);

    // A currency no other test uses: automatic promotions made by other files (same database) stay out of it.
    const promotion = await insertPromotion(pg.db, { name: 'Kitchen -25 %', code: `KITCHEN-${run}`, currency: 'DKK', effect: { type: 'percent_off', basisPoints: 2500 }, target: { categoryIds: [topCategory!.id] }, firstOrderOnly: true });
    const request = { currency: 'DKK', lines: [{ sku, unitAmount: 1200, quantity: 2 }, { sku: other, unitAmount: 3000, quantity: 1 }], shippingAmount: 490, now: new Date(), accountId: randomUUID() };
    const withCode = await evaluatePromotions(pg.db, { ...request, codes: [`kitchen-${run}`] });
    assert.deepEqual(withCode.lineDiscounts, { [sku]: 600 });
    assert.equal(withCode.applied[0]?.promotionId, promotion.id);
    assert.equal((await evaluatePromotions(pg.db, { ...request, codes: [] })).totalDiscount, 0, 'a coupon needs its code');
    const guest = await evaluatePromotions(pg.db, { currency: 'DKK', lines: request.lines, shippingAmount: 490, now: new Date(), codes: [`KITCHEN-${run}`] });
    assert.deepEqual(guest.refused.map((r) => r.reason), ['first_order_only'], 'a guest is not known to be on a first order');
  });
});

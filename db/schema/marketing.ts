import { sql } from 'drizzle-orm';
import { boolean, char, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { PromotionEffect, PromotionTarget } from '../../promotions/engine';
import { timestamps } from './columns';

export const marketing = pgSchema('marketing');

/**
 * A promotion: what the engine (`promotions/engine.ts`) evaluates, plus its budget. `used` counts the
 * redemptions held or made; the reservation raises it with one conditional update
 * (`used < usage_limit`), so however many checkouts race for a 10-use coupon, 10 get it.
 */
export const promotions = marketing.table(
  'promotions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** Upper-cased; unique among coupon promotions. Null for an automatic promotion. */
    code: text('code'),
    priority: integer('priority').notNull().default(0),
    stacking: text('stacking').$type<'exclusive' | 'stackable'>().notNull().default('stackable'),
    currency: char('currency', { length: 3 }).notNull(),
    effect: jsonb('effect').$type<PromotionEffect>().notNull(),
    target: jsonb('target').$type<PromotionTarget>(),
    minSpend: integer('min_spend'),
    segments: text('segments').array(),
    firstOrderOnly: boolean('first_order_only').notNull().default(false),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }),
    active: boolean('active').notNull().default(true),
    /** Redemptions allowed in all; null → unlimited. */
    usageLimit: integer('usage_limit'),
    /** Redemptions allowed per customer; null → unlimited. */
    perCustomerLimit: integer('per_customer_limit'),
    used: integer('used').notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('promotions_code_idx').on(t.code),
    check('promotions_code_upper', sql`${t.code} = upper(${t.code})`),
    check('promotions_stacking', sql`${t.stacking} IN ('exclusive', 'stackable')`),
    check('promotions_used', sql`${t.used} >= 0 AND (${t.usageLimit} IS NULL OR ${t.used} <= ${t.usageLimit})`),
    check('promotions_limits', sql`(${t.usageLimit} IS NULL OR ${t.usageLimit} > 0) AND (${t.perCustomerLimit} IS NULL OR ${t.perCustomerLimit} > 0)`),
    check('promotions_window', sql`${t.startsAt} IS NULL OR ${t.endsAt} IS NULL OR ${t.startsAt} < ${t.endsAt}`),
    index('promotions_automatic_idx').on(t.currency).where(sql`${t.code} IS NULL AND ${t.active}`),
  ],
);

export const redemptionStates = ['reserved', 'committed', 'released'] as const;
export type RedemptionState = (typeof redemptionStates)[number];

/**
 * One promotion used by one order: reserved by the checkout's pricing step, committed once the order is
 * paid, released by its compensation. Unique per (promotion, order), so a retried step changes nothing.
 */
export const promotionRedemptions = marketing.table(
  'promotion_redemptions',
  {
    promotionId: uuid('promotion_id')
      .notNull()
      .references(() => promotions.id),
    orderId: uuid('order_id').notNull(),
    /** Null for a guest checkout; per-customer limits count the rest. */
    accountId: uuid('account_id'),
    state: text('state').$type<RedemptionState>().notNull().default('reserved'),
    /** Minor units the promotion took off this order. */
    amount: integer('amount').notNull(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.promotionId, t.orderId] }),
    check('promotion_redemptions_state', sql`${t.state} IN ('reserved', 'committed', 'released')`),
    index('promotion_redemptions_customer_idx').on(t.promotionId, t.accountId).where(sql`${t.state} <> 'released'`),
    index('promotion_redemptions_order_idx').on(t.orderId),
  ],
);

/** Segments a customer belongs to (assigned by staff or by rules such as loyalty tiers), for targeting. */
export const customerSegments = marketing.table(
  'customer_segments',
  {
    accountId: uuid('account_id').notNull(),
    segment: text('segment').notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [primaryKey({ columns: [t.accountId, t.segment] })],
);

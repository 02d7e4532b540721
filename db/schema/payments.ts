import { sql } from 'drizzle-orm';
import { bigint, bigserial, char, check, index, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const payments = pgSchema('payments');

export const paymentStatuses = ['pending', 'requires_action', 'authorised', 'captured', 'voided', 'failed'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** One payment per order, driven by the `payment-<orderId>` workflow; the provider's id for it once authorised. */
export const paymentRecords = payments.table(
  'payments',
  {
    orderId: uuid('order_id').primaryKey(),
    provider: text('provider').notNull(),
    providerPaymentId: text('provider_payment_id'),
    currency: char('currency', { length: 3 }).notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    status: text('status').$type<PaymentStatus>().notNull().default('pending'),
    failureReason: text('failure_reason'),
    ...timestamps,
  },
  (t) => [
    check('payments_status', sql`${t.status} IN (${sql.raw(paymentStatuses.map((s) => `'${s}'`).join(', '))})`),
    check('payments_amount', sql`${t.amount} > 0`),
    uniqueIndex('payments_provider_id_idx').on(t.provider, t.providerPaymentId),
  ],
);

/**
 * The money ledger: every amount authorised, captured, voided or refunded, once. Each entry carries the
 * idempotency key of the provider call that moved the money, unique, so a retried activity cannot post
 * twice. "Money adds up" is checked against it: captured − refunded per order equals what it was paid.
 */
export const ledgerEntries = payments.table(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id').notNull(),
    kind: text('kind').$type<'authorised' | 'captured' | 'voided' | 'refunded'>().notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    providerReference: text('provider_reference'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('ledger_kind', sql`${t.kind} IN ('authorised', 'captured', 'voided', 'refunded')`),
    check('ledger_amount', sql`${t.amount} > 0`),
    index('ledger_order_idx').on(t.orderId, t.id),
  ],
);

/** Refund requests; the sum of non-failed refunds of an order never exceeds what was captured (checked under a row lock on the payment). */
export const refunds = payments.table(
  'refunds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id').notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    reason: text('reason'),
    status: text('status').$type<'requested' | 'succeeded' | 'failed'>().notNull().default('requested'),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    ...timestamps,
  },
  (t) => [
    check('refunds_amount', sql`${t.amount} > 0`),
    check('refunds_status', sql`${t.status} IN ('requested', 'succeeded', 'failed')`),
    index('refunds_order_idx').on(t.orderId),
  ],
);

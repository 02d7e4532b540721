import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { LedgerKind, LoyaltyEntryDetail, LotTake } from '../../loyalty/account';
import type { TierName } from '../../loyalty/rules';
import { timestamps } from './columns';

export const loyalty = pgSchema('loyalty');

const kinds = "'earn', 'clawback', 'reserve', 'commit', 'release', 'expire', 'debt_repaid', 'tier'";

/**
 * The points ledger: every earn, clawback, reservation, commit, release, expiry, debt repayment and tier
 * change of every account, once. Rows are decided by the account's `loyaltyAccount` workflow and written
 * by its activity: `idempotency_key` names the business event (`earn:<orderId>`, `clawback:<orderId>:<refundId>`,
 * `expire:<lotId>:1`…) and `seq` its place in the account, both unique, so a retried write adds nothing.
 * An account's balance, reserved points and debt are the sums of `points`, `reserved_delta` and `debt_delta`.
 */
export const loyaltyLedger = loyalty.table(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    seq: integer('seq').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    kind: text('kind').$type<LedgerKind>().notNull(),
    points: integer('points').notNull(),
    reservedDelta: integer('reserved_delta').notNull().default(0),
    debtDelta: integer('debt_delta').notNull().default(0),
    orderId: uuid('order_id'),
    refundId: text('refund_id'),
    /** earn: the lot it opens and when that lot expires. */
    lotId: text('lot_id'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    /** Debits: which lots the points came from (`[{lotId, points}]`). */
    lots: jsonb('lots').$type<LotTake[]>(),
    /** Tier spend this entry adds (signed EUR cents), counted in the rolling 12 months from `spend_at`. */
    spendEur: integer('spend_eur'),
    spendAt: timestamp('spend_at', { withTimezone: true, mode: 'date' }),
    detail: jsonb('detail').$type<LoyaltyEntryDetail>(),
    /** When it happened in the account's workflow (not when the row was written). */
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    uniqueIndex('loyalty_ledger_key_idx').on(t.idempotencyKey),
    uniqueIndex('loyalty_ledger_account_seq_idx').on(t.accountId, t.seq),
    index('loyalty_ledger_expiring_idx').on(t.accountId, t.expiresAt).where(sql`${t.kind} = 'earn'`),
    index('loyalty_ledger_spend_idx').on(t.accountId, t.spendAt).where(sql`${t.spendAt} IS NOT NULL`),
    check('loyalty_ledger_kind', sql.raw(`kind IN (${kinds})`)),
    check('loyalty_ledger_seq', sql`${t.seq} > 0`),
    // Each kind moves the counters only the way it may: an earn never takes, a debit never gives.
    check(
      'loyalty_ledger_signs',
      sql.raw(`CASE kind
        WHEN 'earn' THEN points >= 0 AND reserved_delta = 0 AND debt_delta = 0
        WHEN 'clawback' THEN points <= 0 AND reserved_delta = 0 AND debt_delta >= 0
        WHEN 'reserve' THEN points = 0 AND reserved_delta > 0 AND debt_delta = 0
        WHEN 'commit' THEN points < 0 AND reserved_delta = points AND debt_delta = 0
        WHEN 'release' THEN points = 0 AND reserved_delta <= 0 AND debt_delta = 0
        WHEN 'expire' THEN points < 0 AND reserved_delta = 0 AND debt_delta = 0
        WHEN 'debt_repaid' THEN points < 0 AND debt_delta = points AND reserved_delta = 0
        ELSE points = 0 AND reserved_delta = 0 AND debt_delta = 0 END`),
    ),
  ],
);

/**
 * Each account's totals, moved in the same transaction as the entries that change them, with the
 * programme's invariants as constraints: a balance is never negative and never below what is reserved.
 */
export const loyaltyAccounts = loyalty.table(
  'accounts',
  {
    accountId: uuid('account_id').primaryKey(),
    balance: integer('balance').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    debt: integer('debt').notNull().default(0),
    tier: text('tier').$type<TierName>().notNull().default('bronze'),
    lastSeq: integer('last_seq').notNull().default(0),
    ...timestamps,
  },
  (t) => [
    check('loyalty_accounts_balance', sql`${t.balance} >= 0 AND ${t.reserved} >= 0 AND ${t.reserved} <= ${t.balance} AND ${t.debt} >= 0`),
    check('loyalty_accounts_tier', sql`${t.tier} IN ('bronze', 'silver', 'gold')`),
  ],
);

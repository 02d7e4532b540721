/**
 * The loyalty ledger in Postgres. The `loyaltyAccount` workflow decides entries; `recordLoyaltyEntries`
 * writes them, once each, with the account's totals in the same transaction; everything a person or
 * staff reads (`GET /v1/me/loyalty`) is computed from here, never from the workflow.
 */
import { and, asc, desc, eq, gte, isNotNull, lt, sql } from 'drizzle-orm';
import { stateFromEntries, type LoyaltyAccountState, type LoyaltyEntry } from '../loyalty/account';
import { addMonthsUtc, expiringSoonDays, nextTierFor, rollingSpend, spendWindowMonths, tierForSpend, type Tier } from '../loyalty/rules';
import type { Database, Executor } from '../platform/postgres';
import { loyaltyAccounts, loyaltyLedger } from './schema/loyalty';

export type LoyaltyLedgerRow = typeof loyaltyLedger.$inferSelect;

/** A key already in the ledger for another account or place: the workflow and the ledger disagree, which must be looked at, not papered over. */
export class LoyaltyLedgerConflict extends Error {
  override name = 'LoyaltyLedgerConflict';
  constructor(readonly key: string) {
    super(`ledger entry ${key} is already recorded elsewhere`);
  }
}

function rowOf(accountId: string, entry: LoyaltyEntry): typeof loyaltyLedger.$inferInsert {
  return {
    accountId,
    seq: entry.seq,
    idempotencyKey: entry.key,
    kind: entry.kind,
    points: entry.points,
    reservedDelta: entry.reserved,
    debtDelta: entry.debt,
    orderId: entry.orderId ?? null,
    refundId: entry.refundId ?? null,
    lotId: entry.lot?.id ?? null,
    expiresAt: entry.lot ? new Date(entry.lot.expiresAt) : null,
    lots: entry.lots ?? null,
    spendEur: entry.spend?.eur ?? null,
    spendAt: entry.spend ? new Date(entry.spend.at) : null,
    detail: entry.detail ?? null,
    occurredAt: new Date(entry.at),
  };
}

export function entryOf(row: LoyaltyLedgerRow): LoyaltyEntry {
  return {
    seq: row.seq,
    key: row.idempotencyKey,
    kind: row.kind,
    at: row.occurredAt.toISOString(),
    points: row.points,
    reserved: row.reservedDelta,
    debt: row.debtDelta,
    ...(row.orderId ? { orderId: row.orderId } : {}),
    ...(row.refundId ? { refundId: row.refundId } : {}),
    ...(row.lotId && row.expiresAt ? { lot: { id: row.lotId, expiresAt: row.expiresAt.toISOString() } } : {}),
    ...(row.lots ? { lots: row.lots } : {}),
    ...(row.spendEur !== null && row.spendAt ? { spend: { eur: row.spendEur, at: row.spendAt.toISOString() } } : {}),
    ...(row.detail ? { detail: row.detail } : {}),
  };
}

/**
 * Writes entries of one account, in one transaction under the account's row lock: an entry whose key is
 * already there (a retried activity, a replayed workflow) is skipped, and only the new ones move the
 * totals. The totals' constraints refuse a negative balance or more reserved than held.
 */
export async function recordLoyaltyEntries(db: Database, accountId: string, entries: LoyaltyEntry[]): Promise<{ recorded: number; alreadyRecorded: number }> {
  if (entries.length === 0) return { recorded: 0, alreadyRecorded: 0 };
  return db.transaction(async (tx) => {
    await tx.insert(loyaltyAccounts).values({ accountId }).onConflictDoNothing();
    const [account] = await tx.select().from(loyaltyAccounts).where(eq(loyaltyAccounts.accountId, accountId)).for('update');
    const inserted = await tx
      .insert(loyaltyLedger)
      .values(entries.map((entry) => rowOf(accountId, entry)))
      .onConflictDoNothing({ target: loyaltyLedger.idempotencyKey })
      .returning({ key: loyaltyLedger.idempotencyKey });
    const fresh = new Set(inserted.map((row) => row.key));
    const repeated = entries.filter((entry) => !fresh.has(entry.key));
    for (const entry of repeated) {
      const [existing] = await tx.select({ accountId: loyaltyLedger.accountId, seq: loyaltyLedger.seq }).from(loyaltyLedger).where(eq(loyaltyLedger.idempotencyKey, entry.key));
      if (existing?.accountId !== accountId || existing.seq !== entry.seq) throw new LoyaltyLedgerConflict(entry.key);
    }
    const added = entries.filter((entry) => fresh.has(entry.key));
    if (added.length > 0) {
      const sum = (pick: (entry: LoyaltyEntry) => number) => added.reduce((total, entry) => total + pick(entry), 0);
      const lastTier = added.filter((entry) => entry.kind === 'tier').at(-1)?.detail?.tier;
      await tx
        .update(loyaltyAccounts)
        .set({
          balance: sql`${loyaltyAccounts.balance} + ${sum((entry) => entry.points)}`,
          reserved: sql`${loyaltyAccounts.reserved} + ${sum((entry) => entry.reserved)}`,
          debt: sql`${loyaltyAccounts.debt} + ${sum((entry) => entry.debt)}`,
          lastSeq: Math.max(account!.lastSeq, ...added.map((entry) => entry.seq)),
          ...(lastTier ? { tier: lastTier } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(loyaltyAccounts.accountId, accountId));
    }
    return { recorded: added.length, alreadyRecorded: repeated.length };
  });
}

export async function ledgerEntriesOf(db: Executor, accountId: string): Promise<LoyaltyEntry[]> {
  const rows = await db.select().from(loyaltyLedger).where(eq(loyaltyLedger.accountId, accountId)).orderBy(asc(loyaltyLedger.seq));
  return rows.map(entryOf);
}

/** The account as its ledger describes it (rebuilding a workflow whose history was lost); null for an account with no entries. */
export async function loyaltyStateFromLedger(db: Executor, accountId: string): Promise<LoyaltyAccountState | null> {
  const entries = await ledgerEntriesOf(db, accountId);
  return entries.length === 0 ? null : stateFromEntries(accountId, entries);
}

export interface LoyaltyTotals {
  balance: number;
  reserved: number;
  debt: number;
  entries: number;
  lastSeq: number;
}

/** The sums of the ledger: the account's balance, reserved points and debt. */
export async function loyaltyTotals(db: Executor, accountId: string): Promise<LoyaltyTotals> {
  const [row] = await db
    .select({
      balance: sql<number>`coalesce(sum(${loyaltyLedger.points}), 0)::int`,
      reserved: sql<number>`coalesce(sum(${loyaltyLedger.reservedDelta}), 0)::int`,
      debt: sql<number>`coalesce(sum(${loyaltyLedger.debtDelta}), 0)::int`,
      entries: sql<number>`count(*)::int`,
      lastSeq: sql<number>`coalesce(max(${loyaltyLedger.seq}), 0)::int`,
    })
    .from(loyaltyLedger)
    .where(eq(loyaltyLedger.accountId, accountId));
  return row!;
}

export async function loyaltyAccountRow(db: Executor, accountId: string) {
  const [row] = await db.select().from(loyaltyAccounts).where(eq(loyaltyAccounts.accountId, accountId));
  return row;
}

/** A page of the account's ledger, newest first; `beforeSeq` continues after the previous page. */
export async function loyaltyHistory(db: Executor, accountId: string, options: { limit: number; beforeSeq?: number }): Promise<LoyaltyLedgerRow[]> {
  return db
    .select()
    .from(loyaltyLedger)
    .where(and(eq(loyaltyLedger.accountId, accountId), options.beforeSeq !== undefined ? lt(loyaltyLedger.seq, options.beforeSeq) : undefined))
    .orderBy(desc(loyaltyLedger.seq))
    .limit(options.limit);
}

/** The rolling 12-month spend at `nowMs`, from the spend the ledger's entries carry. */
export async function rollingSpendFromLedger(db: Executor, accountId: string, nowMs: number): Promise<number> {
  // A margin of one month on the lower bound: the window's own calendar arithmetic decides in the end.
  const since = new Date(addMonthsUtc(nowMs, -(spendWindowMonths + 1)));
  const rows = await db
    .select({ eur: loyaltyLedger.spendEur, at: loyaltyLedger.spendAt })
    .from(loyaltyLedger)
    .where(and(eq(loyaltyLedger.accountId, accountId), isNotNull(loyaltyLedger.spendAt), gte(loyaltyLedger.spendAt, since)));
  return rollingSpend(
    rows.map((row) => ({ eur: row.eur ?? 0, atMs: row.at!.getTime() })),
    nowMs,
  );
}

/**
 * Lots with points left that expire before `untilMs` (a lot already due whose points are reserved is
 * included: it expires as soon as the reservation is released; `sinceMs` bounds how far back to look,
 * past any reservation's life). Remaining = earned − what debits took from it.
 */
export async function expiringLots(db: Executor, accountId: string, untilMs: number, sinceMs = untilMs - 400 * 24 * 3_600_000): Promise<{ lotId: string; expiresAt: Date; remaining: number }[]> {
  const rows = await db.execute<{ lot_id: string; expires_at: Date | string; remaining: number }>(sql`
    SELECT e.lot_id, e.expires_at, (e.points - coalesce((
      SELECT sum((take->>'points')::int)
      FROM ${loyaltyLedger} AS d, jsonb_array_elements(d.lots) AS take
      WHERE d.account_id = e.account_id AND d.lots IS NOT NULL AND take->>'lotId' = e.lot_id
    ), 0))::int AS remaining
    FROM ${loyaltyLedger} AS e
    WHERE e.account_id = ${accountId} AND e.kind = 'earn' AND e.lot_id IS NOT NULL AND e.expires_at <= ${new Date(untilMs).toISOString()} AND e.expires_at > ${new Date(sinceMs).toISOString()}
    ORDER BY e.expires_at, e.seq`);
  return rows
    .map((row) => ({ lotId: row.lot_id, expiresAt: new Date(row.expires_at), remaining: Number(row.remaining) }))
    .filter((lot) => lot.remaining > 0);
}

export interface LoyaltyOverview extends LoyaltyTotals {
  available: number;
  tier: Tier;
  rollingSpendEur: number;
  nextTier: { tier: Tier; missingEur: number } | null;
  expiringSoon: { points: number; untilMs: number; lots: { lotId: string; expiresAt: Date; remaining: number }[] };
}

/** Everything `GET /v1/me/loyalty` shows, from the ledger, as of `nowMs`. */
export async function loyaltyOverview(db: Executor, accountId: string, nowMs: number): Promise<LoyaltyOverview> {
  const untilMs = nowMs + expiringSoonDays * 24 * 3_600_000;
  const [totals, spend, lots] = await Promise.all([loyaltyTotals(db, accountId), rollingSpendFromLedger(db, accountId, nowMs), expiringLots(db, accountId, untilMs)]);
  return {
    ...totals,
    available: totals.balance - totals.reserved,
    tier: tierForSpend(spend),
    rollingSpendEur: spend,
    nextTier: nextTierFor(spend),
    expiringSoon: { points: lots.reduce((sum, lot) => sum + lot.remaining, 0), untilMs, lots },
  };
}

/**
 * Payment state and the money ledger (payments schema), and the partner webhook inbox (ops schema).
 *
 * The ledger is append-only and every entry carries the idempotency key of the provider call that moved
 * the money, unique: whatever retries happen, an amount is posted once (INSERT … ON CONFLICT DO NOTHING).
 * The payments row is a summary for people and other domains; it only ever moves forward
 * (pending → requires_action → authorised → captured; voided and failed are final).
 */
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { ledgerEntries, paymentRecords, refunds, type PaymentStatus } from './schema/payments';
import { webhookInbox } from './schema/ops';

export type LedgerKind = 'authorised' | 'captured' | 'voided' | 'refunded';

/** The refund would take back more than was captured (counting refunds still in flight); nothing was recorded. */
export class RefundExceedsCaptured extends Error {
  override readonly name = 'RefundExceedsCaptured';
  constructor(
    readonly orderId: string,
    readonly requested: number,
    readonly refundable: number,
  ) {
    super(`a refund of ${requested} exceeds what is still refundable (${refundable}) for order ${orderId}`);
  }
}

/** The same refund key was used before for another amount or order: a caller bug, never retried. */
export class RefundMismatch extends Error {
  override readonly name = 'RefundMismatch';
}

/** No payments row for the order: the payment was never opened. */
export class PaymentNotFound extends Error {
  override readonly name = 'PaymentNotFound';
}

export interface OpenPayment {
  orderId: string;
  provider: string;
  amount: number;
  currency: string;
}

/** The payments row, made before the provider is first called; a retry finds it made. */
export async function openPayment(db: Executor, input: OpenPayment): Promise<void> {
  await db
    .insert(paymentRecords)
    .values({ orderId: input.orderId, provider: input.provider, amount: input.amount, currency: input.currency })
    .onConflictDoNothing({ target: paymentRecords.orderId });
}

async function post(db: Executor, entry: { orderId: string; kind: LedgerKind; amount: number; currency: string; idempotencyKey: string; providerReference?: string | null }): Promise<boolean> {
  if (entry.amount <= 0) return false;
  const rows = await db
    .insert(ledgerEntries)
    .values({ ...entry, providerReference: entry.providerReference ?? null })
    .onConflictDoNothing({ target: ledgerEntries.idempotencyKey })
    .returning({ id: ledgerEntries.id });
  return rows.length > 0;
}

/**
 * The provider authorised the payment (at once, or after 3-D Secure), or asks for an action first.
 * Posts the `authorised` entry under the authorisation's idempotency key, once.
 */
export async function recordAuthorisation(
  db: Executor,
  input: { orderId: string; providerPaymentId: string; status: 'authorised' | 'requires_action'; amount: number; currency: string; idempotencyKey: string },
): Promise<{ posted: boolean }> {
  return db.transaction(async (tx) => {
    const from: PaymentStatus[] = input.status === 'authorised' ? ['pending', 'requires_action'] : ['pending'];
    await tx
      .update(paymentRecords)
      .set({ providerPaymentId: input.providerPaymentId, status: input.status, updatedAt: sql`now()` })
      .where(and(eq(paymentRecords.orderId, input.orderId), inArray(paymentRecords.status, from)));
    if (input.status !== 'authorised') return { posted: false };
    const posted = await post(tx, { orderId: input.orderId, kind: 'authorised', amount: input.amount, currency: input.currency, idempotencyKey: input.idempotencyKey });
    return { posted };
  });
}

/** Declined, timed out, unreachable provider: the payment is over and the reason kept. Never undoes a capture. */
export async function recordPaymentFailure(db: Executor, input: { orderId: string; reason: string; providerPaymentId?: string | null }): Promise<void> {
  await db
    .update(paymentRecords)
    .set({
      status: 'failed',
      failureReason: input.reason,
      ...(input.providerPaymentId ? { providerPaymentId: sql`coalesce(${paymentRecords.providerPaymentId}, ${input.providerPaymentId})` } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(paymentRecords.orderId, input.orderId), inArray(paymentRecords.status, ['pending', 'requires_action', 'authorised'])));
}

export async function recordCapture(
  db: Executor,
  input: { orderId: string; amount: number; currency: string; idempotencyKey: string; providerReference: string },
): Promise<{ posted: boolean }> {
  return db.transaction(async (tx) => {
    await tx
      .update(paymentRecords)
      .set({ status: 'captured', updatedAt: sql`now()` })
      .where(and(eq(paymentRecords.orderId, input.orderId), inArray(paymentRecords.status, ['pending', 'requires_action', 'authorised'])));
    const posted = await post(tx, { ...input, kind: 'captured' });
    return { posted };
  });
}

/**
 * The hold is released: posts `voided` for what was authorised and neither captured nor voided yet (under
 * the void's key, once), and ends the payment as voided — or as failed with `failureReason` when the void
 * was the clean-up of a failure (a 3-D Secure confirmation that never came).
 */
export async function recordVoid(db: Executor, input: { orderId: string; idempotencyKey: string; failureReason?: string }): Promise<{ released: number }> {
  return db.transaction(async (tx) => {
    const [payment] = await tx.select().from(paymentRecords).where(eq(paymentRecords.orderId, input.orderId)).for('update');
    if (!payment) return { released: 0 };
    const balance = await ledgerBalance(tx, input.orderId);
    const held = balance ? balance.held : 0;
    const posted = held > 0 && (await post(tx, { orderId: input.orderId, kind: 'voided', amount: held, currency: payment.currency, idempotencyKey: input.idempotencyKey }));
    await tx
      .update(paymentRecords)
      .set(input.failureReason ? { status: 'failed', failureReason: input.failureReason, updatedAt: sql`now()` } : { status: 'voided', updatedAt: sql`now()` })
      .where(and(eq(paymentRecords.orderId, input.orderId), inArray(paymentRecords.status, ['pending', 'requires_action', 'authorised'])));
    return { released: posted ? held : 0 };
  });
}

export interface RefundRow {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  status: 'requested' | 'succeeded' | 'failed';
  idempotencyKey: string;
}

/**
 * Claims a refund before the provider is called, under a lock on the payment's row, so concurrent
 * refunds of one order are decided one after the other: refunds requested or succeeded, plus this one,
 * never exceed what was captured. The same key again returns the refund already claimed.
 */
export async function reserveRefund(
  db: Executor,
  input: { orderId: string; amount: number; reason: string; idempotencyKey: string },
): Promise<RefundRow> {
  return db.transaction(async (tx) => {
    const [payment] = await tx.select().from(paymentRecords).where(eq(paymentRecords.orderId, input.orderId)).for('update');
    if (!payment) throw new PaymentNotFound(`no payment for order ${input.orderId}`);
    const [existing] = await tx.select().from(refunds).where(eq(refunds.idempotencyKey, input.idempotencyKey));
    if (existing) {
      if (existing.orderId !== input.orderId || existing.amount !== input.amount) {
        throw new RefundMismatch(`refund key already used for another amount or order`);
      }
      return existing as RefundRow;
    }
    const [captured] = await tx
      .select({ total: sql<string>`coalesce(sum(${ledgerEntries.amount}), 0)` })
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.orderId, input.orderId), eq(ledgerEntries.kind, 'captured')));
    const [claimed] = await tx
      .select({ total: sql<string>`coalesce(sum(${refunds.amount}), 0)` })
      .from(refunds)
      .where(and(eq(refunds.orderId, input.orderId), inArray(refunds.status, ['requested', 'succeeded'])));
    const refundable = Number(captured?.total ?? 0) - Number(claimed?.total ?? 0);
    if (input.amount > refundable) throw new RefundExceedsCaptured(input.orderId, input.amount, Math.max(0, refundable));
    const [row] = await tx
      .insert(refunds)
      .values({ orderId: input.orderId, amount: input.amount, currency: payment.currency, reason: input.reason, idempotencyKey: input.idempotencyKey })
      .returning();
    return row as RefundRow;
  });
}

/** The provider refunded: the refund succeeds and the `refunded` entry is posted, once. */
export async function completeRefund(db: Executor, input: { idempotencyKey: string; providerReference: string }): Promise<{ posted: boolean }> {
  return db.transaction(async (tx) => {
    const [refund] = await tx.select().from(refunds).where(eq(refunds.idempotencyKey, input.idempotencyKey)).for('update');
    if (!refund) throw new PaymentNotFound('no such refund');
    if (refund.status === 'requested') {
      await tx.update(refunds).set({ status: 'succeeded', updatedAt: sql`now()` }).where(eq(refunds.id, refund.id));
    }
    const posted = await post(tx, {
      orderId: refund.orderId,
      kind: 'refunded',
      amount: refund.amount,
      currency: refund.currency,
      idempotencyKey: input.idempotencyKey,
      providerReference: input.providerReference,
    });
    return { posted };
  });
}

/** The provider refused the refund: its claim on the captured amount is given back. */
export async function failRefund(db: Executor, idempotencyKey: string): Promise<void> {
  await db.update(refunds).set({ status: 'failed', updatedAt: sql`now()` }).where(and(eq(refunds.idempotencyKey, idempotencyKey), eq(refunds.status, 'requested')));
}

export async function paymentOf(db: Executor, orderId: string) {
  const [payment] = await db.select().from(paymentRecords).where(eq(paymentRecords.orderId, orderId));
  return payment;
}

export async function ledgerOf(db: Executor, orderId: string) {
  return db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, orderId)).orderBy(ledgerEntries.id);
}

export interface LedgerBalance {
  orderId: string;
  currency: string;
  authorised: number;
  captured: number;
  voided: number;
  refunded: number;
  /** Authorised and neither captured nor released: what the card still holds. */
  held: number;
  /** Captured minus refunded: what the order has been paid. */
  paid: number;
}

const sumOf = (kind: LedgerKind) => sql<string>`coalesce(sum(${ledgerEntries.amount}) filter (where ${ledgerEntries.kind} = ${kind}), 0)`;

/** One order's ledger, summed; undefined when nothing was ever posted for it. */
export async function ledgerBalance(db: Executor, orderId: string): Promise<LedgerBalance | undefined> {
  const [row] = await db
    .select({
      currency: sql<string>`min(${ledgerEntries.currency})`,
      entries: sql<number>`count(*)::int`,
      authorised: sumOf('authorised'),
      captured: sumOf('captured'),
      voided: sumOf('voided'),
      refunded: sumOf('refunded'),
    })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.orderId, orderId));
  if (!row || row.entries === 0) return undefined;
  const [authorised, captured, voided, refunded] = [row.authorised, row.captured, row.voided, row.refunded].map(Number) as [number, number, number, number];
  return { orderId, currency: row.currency, authorised, captured, voided, refunded, held: authorised - captured - voided, paid: captured - refunded };
}

export interface LedgerTotals {
  /** Sums over every order, per currency. */
  byCurrency: { currency: string; orders: number; authorised: number; captured: number; voided: number; refunded: number; paid: number }[];
  /**
   * Orders whose books do not add up: more refunded than captured, more captured or released than
   * authorised, entries in several currencies, or refunds the refunds table and the ledger disagree on.
   * Empty when the money adds up.
   */
  anomalies: { orderId: string; problem: string }[];
}

/** "Money adds up", over the whole ledger. */
export async function ledgerTotals(db: Executor): Promise<LedgerTotals> {
  const perOrder = db
    .select({
      orderId: ledgerEntries.orderId,
      currency: sql<string>`min(${ledgerEntries.currency})`.as('currency'),
      currencies: sql<number>`count(distinct ${ledgerEntries.currency})::int`.as('currencies'),
      authorised: sql<string>`${sumOf('authorised')}`.as('authorised'),
      captured: sql<string>`${sumOf('captured')}`.as('captured'),
      voided: sql<string>`${sumOf('voided')}`.as('voided'),
      refunded: sql<string>`${sumOf('refunded')}`.as('refunded'),
    })
    .from(ledgerEntries)
    .groupBy(ledgerEntries.orderId)
    .as('per_order');
  const orders = await db.select().from(perOrder);
  const succeededRefunds = await db
    .select({ orderId: refunds.orderId, total: sql<string>`sum(${refunds.amount})` })
    .from(refunds)
    .where(eq(refunds.status, 'succeeded'))
    .groupBy(refunds.orderId);
  const refundsByOrder = new Map(succeededRefunds.map((r) => [r.orderId, Number(r.total)]));

  const byCurrency = new Map<string, LedgerTotals['byCurrency'][number]>();
  const anomalies: LedgerTotals['anomalies'] = [];
  for (const order of orders) {
    const [authorised, captured, voided, refunded] = [order.authorised, order.captured, order.voided, order.refunded].map(Number) as [number, number, number, number];
    const totals = byCurrency.get(order.currency) ?? { currency: order.currency, orders: 0, authorised: 0, captured: 0, voided: 0, refunded: 0, paid: 0 };
    totals.orders++;
    totals.authorised += authorised;
    totals.captured += captured;
    totals.voided += voided;
    totals.refunded += refunded;
    totals.paid += captured - refunded;
    byCurrency.set(order.currency, totals);
    if (order.currencies > 1) anomalies.push({ orderId: order.orderId, problem: 'entries in several currencies' });
    if (refunded > captured) anomalies.push({ orderId: order.orderId, problem: `refunded ${refunded} > captured ${captured}` });
    if (captured + voided > authorised) anomalies.push({ orderId: order.orderId, problem: `captured ${captured} + voided ${voided} > authorised ${authorised}` });
    if ((refundsByOrder.get(order.orderId) ?? 0) !== refunded) {
      anomalies.push({ orderId: order.orderId, problem: `refunds table says ${refundsByOrder.get(order.orderId) ?? 0} refunded, ledger ${refunded}` });
    }
    refundsByOrder.delete(order.orderId);
  }
  for (const [orderId, total] of refundsByOrder) anomalies.push({ orderId, problem: `refunds table says ${total} refunded, ledger has no entry` });
  return { byCurrency: [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency)), anomalies };
}

// ---- Partner webhook inbox -------------------------------------------------------------------------

export type WebhookStatus = 'pending' | 'delivered' | 'orphaned';
export type WebhookRow = typeof webhookInbox.$inferSelect;

/** Stores an event once per (provider, event id); `stored: false` means it was there already (a redelivery). */
export async function storeWebhookEvent(
  db: Executor,
  input: { provider: string; eventId: string; eventType: string; payload: Record<string, unknown> },
): Promise<{ stored: true; row: WebhookRow } | { stored: false }> {
  const [row] = await db.insert(webhookInbox).values(input).onConflictDoNothing({ target: [webhookInbox.provider, webhookInbox.eventId] }).returning();
  return row ? { stored: true, row } : { stored: false };
}

/**
 * Records the outcome of one delivery attempt. Only a pending row changes: whoever delivered it first
 * (the route or the sweeper) decides, and a late attempt does not undo it.
 */
export async function recordWebhookAttempt(db: Executor, id: number, outcome: { status: WebhookStatus; error?: string }): Promise<void> {
  await db
    .update(webhookInbox)
    .set({
      status: outcome.status,
      attempts: sql`${webhookInbox.attempts} + 1`,
      lastError: outcome.error ? outcome.error.slice(0, 1000) : null,
      ...(outcome.status === 'delivered' ? { deliveredAt: sql`now()` } : {}),
    })
    .where(and(eq(webhookInbox.id, id), eq(webhookInbox.status, 'pending')));
}

/**
 * Pending events received before `receivedBefore`, oldest first, locked for this transaction; rows
 * another sweeper holds are skipped, so two sweepers never deliver the same event at once.
 */
export async function lockPendingWebhooks(tx: Executor, input: { receivedBefore: Date; limit: number; provider?: string }): Promise<WebhookRow[]> {
  return tx
    .select()
    .from(webhookInbox)
    .where(
      and(
        eq(webhookInbox.status, 'pending'),
        lt(webhookInbox.receivedAt, input.receivedBefore),
        ...(input.provider ? [eq(webhookInbox.provider, input.provider)] : []),
      ),
    )
    .orderBy(webhookInbox.id)
    .limit(input.limit)
    .for('update', { skipLocked: true });
}

export async function webhookByEvent(db: Executor, provider: string, eventId: string): Promise<WebhookRow | undefined> {
  const [row] = await db.select().from(webhookInbox).where(and(eq(webhookInbox.provider, provider), eq(webhookInbox.eventId, eventId)));
  return row;
}

/** Newest first, by id; `beforeId` is the last id of the previous page. */
export async function listWebhooks(db: Executor, filter: { status?: WebhookStatus; provider?: string; beforeId?: number; limit: number }): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhookInbox)
    .where(
      and(
        ...(filter.status ? [eq(webhookInbox.status, filter.status)] : []),
        ...(filter.provider ? [eq(webhookInbox.provider, filter.provider)] : []),
        ...(filter.beforeId !== undefined ? [lt(webhookInbox.id, filter.beforeId)] : []),
      ),
    )
    .orderBy(desc(webhookInbox.id))
    .limit(filter.limit);
}

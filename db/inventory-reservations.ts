import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { recordStockChanges } from './outbox';
import { reservations, stockLevels } from './schema/inventory';

/*
 * Reservations keep the "no oversell" invariant: units promised to orders never exceed the units on hand.
 *
 * Deadlocks: every function here locks stock rows in one global order, (sku, location) compared byte by
 * byte (COLLATE "C"), in a single locking SELECT, before it changes any of them, and an order's own
 * reservations are serialised by a transaction-scoped advisory lock on the order id. setStockLevels
 * (db/inventory.ts) writes in the same order. Two checkouts naming the same SKUs in any order therefore
 * queue behind each other instead of deadlocking.
 */

export interface ReservationLine {
  sku: string;
  quantity: number;
}

export interface HeldUnits {
  sku: string;
  location: string;
  quantity: number;
}

/** An order's reservation as a whole: release, commit and expiry act on all of its rows at once. */
export interface OrderReservation {
  orderId: string;
  /** `held` while units are promised; `released` (cancelled or expired) and `committed` (shipped) are final. */
  state: 'held' | 'released' | 'committed';
  /** True when this call reserved the units; false when it found the order's reservation already made. */
  created: boolean;
  expiresAt: Date;
  lines: HeldUnits[];
}

export interface StockShortage {
  sku: string;
  requested: number;
  available: number;
}

/** Some SKU of the order has fewer available units than requested; nothing was reserved for the order. */
export class InsufficientStock extends Error {
  override readonly name = 'InsufficientStock';
  constructor(readonly shortages: StockShortage[]) {
    super(`insufficient stock for ${shortages.map((s) => `${s.sku} (requested ${s.requested}, available ${s.available})`).join(', ')}`);
  }
}

/** The order already holds a reservation for other quantities: an order's lines never change after it is reserved. */
export class ReservationMismatch extends Error {
  override readonly name = 'ReservationMismatch';
  constructor(
    readonly orderId: string,
    readonly held: ReservationLine[],
    readonly requested: ReservationLine[],
  ) {
    super(`order ${orderId} already holds a reservation for other quantities`);
  }
}

/** A request no reservation can honour (no lines, a quantity that is not a positive integer, a bad TTL). */
export class InvalidReservation extends Error {
  override readonly name = 'InvalidReservation';
}

/** Byte order of the UTF-8 encodings: the order Postgres uses under COLLATE "C". */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const byKey = (a: HeldUnits, b: HeldUnits) => byteOrder(a.sku, b.sku) || byteOrder(a.location, b.location);

/** One quantity per SKU (a SKU named twice is one line), in byte order of the SKU. */
function normalise(lines: ReservationLine[]): ReservationLine[] {
  if (lines.length === 0) throw new InvalidReservation('a reservation needs at least one line');
  const totals = new Map<string, number>();
  for (const line of lines) {
    if (typeof line.sku !== 'string' || line.sku.length === 0) throw new InvalidReservation('every line needs a SKU');
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0) {
      throw new InvalidReservation(`quantity of ${line.sku} must be a positive integer, got ${line.quantity}`);
    }
    totals.set(line.sku, (totals.get(line.sku) ?? 0) + line.quantity);
  }
  return [...totals].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => byteOrder(a.sku, b.sku));
}

function totalsBySku(units: HeldUnits[]): ReservationLine[] {
  return normalise(units.map(({ sku, quantity }) => ({ sku, quantity })));
}

/** Serialises every reservation change of one order (a retried activity racing its first attempt, a release racing a reserve). */
async function lockOrder(tx: Executor, orderId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`inventory.reservations:${orderId}`}, 0))`);
}

/** Locks the stock rows in the global (sku, location) byte order; returns them as they are now. */
async function lockStockRows(tx: Executor, where: SQL) {
  return tx
    .select({ sku: stockLevels.sku, location: stockLevels.location, onHand: stockLevels.onHand, reserved: stockLevels.reserved })
    .from(stockLevels)
    .where(where)
    .orderBy(sql`${stockLevels.sku} COLLATE "C"`, sql`${stockLevels.location} COLLATE "C"`)
    .for('update');
}

const keyIn = (units: HeldUnits[]) =>
  sql`(${stockLevels.sku}, ${stockLevels.location}) IN (${sql.join(
    units.map((u) => sql`(${u.sku}::text, ${u.location}::text)`),
    sql`, `,
  )})`;

const valuesOf = (units: HeldUnits[]) => sql.join(units.map((u) => sql`(${u.sku}::text, ${u.location}::text, ${u.quantity}::int)`), sql`, `);

async function reservationRows(tx: Executor, orderId: string) {
  return tx
    .select({
      sku: reservations.sku,
      location: reservations.location,
      quantity: reservations.quantity,
      expiresAt: reservations.expiresAt,
      releasedAt: reservations.releasedAt,
      committedAt: reservations.committedAt,
    })
    .from(reservations)
    .where(eq(reservations.orderId, orderId));
}

type ReservationRow = Awaited<ReturnType<typeof reservationRows>>[number];

function describe(orderId: string, rows: ReservationRow[], created: boolean): OrderReservation {
  const open = rows.filter((r) => !r.releasedAt && !r.committedAt);
  const state = open.length > 0 ? 'held' : rows.some((r) => r.committedAt) ? 'committed' : 'released';
  return {
    orderId,
    state,
    created,
    expiresAt: new Date(Math.max(...rows.map((r) => r.expiresAt.getTime()))),
    lines: rows.map(({ sku, location, quantity }) => ({ sku, location, quantity })).sort(byKey),
  };
}

/**
 * Reserves every line of an order, all or nothing. Each SKU takes units from its locations in location
 * order. Idempotent per order: when the order already has a reservation (held, or even released or
 * committed since), it is returned unchanged; asking for other quantities throws ReservationMismatch.
 * Throws InsufficientStock (listing every short SKU) and leaves nothing reserved when a SKU lacks units.
 */
export async function reserveStock(
  db: Executor,
  orderId: string,
  lines: ReservationLine[],
  options: { ttlSeconds: number },
): Promise<OrderReservation> {
  const wanted = normalise(lines);
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new InvalidReservation(`ttlSeconds must be a positive integer, got ${options.ttlSeconds}`);
  }
  // A savepoint when called inside a transaction: an InsufficientStock rolls back this order's changes only.
  return db.transaction(async (tx) => {
    await lockOrder(tx, orderId);
    const existing = await reservationRows(tx, orderId);
    if (existing.length > 0) {
      const held = totalsBySku(existing);
      if (JSON.stringify(held) !== JSON.stringify(wanted)) throw new ReservationMismatch(orderId, held, wanted);
      return describe(orderId, existing, false);
    }

    const levels = await lockStockRows(tx, sql`${stockLevels.sku} IN (${sql.join(wanted.map((w) => sql`${w.sku}`), sql`, `)})`);
    const taken: HeldUnits[] = [];
    const shortages: StockShortage[] = [];
    for (const line of wanted) {
      const atLocations = levels.filter((level) => level.sku === line.sku);
      const available = atLocations.reduce((sum, level) => sum + Math.max(level.onHand - level.reserved, 0), 0);
      if (available < line.quantity) {
        shortages.push({ sku: line.sku, requested: line.quantity, available });
        continue;
      }
      let missing = line.quantity;
      for (const level of atLocations) {
        const take = Math.min(missing, Math.max(level.onHand - level.reserved, 0));
        if (take > 0) taken.push({ sku: line.sku, location: level.location, quantity: take });
        missing -= take;
        if (missing === 0) break;
      }
    }
    if (shortages.length > 0) throw new InsufficientStock(shortages);

    // The rows are locked, so the guard always holds; it stays as the statement of the invariant.
    const updated = await tx.execute<{ sku: string }>(sql`
      UPDATE ${stockLevels} AS s SET reserved = s.reserved + v.quantity, updated_at = now()
      FROM (VALUES ${valuesOf(taken)}) AS v(sku, location, quantity)
      WHERE s.sku = v.sku AND s.location = v.location AND s.on_hand - s.reserved >= v.quantity
      RETURNING s.sku`);
    if (updated.length !== taken.length) throw new Error(`reservation of order ${orderId} lost a race it cannot lose`);

    const made = await tx
      .insert(reservations)
      .values(taken.map((unit) => ({ orderId, ...unit, expiresAt: sql`now() + make_interval(secs => ${options.ttlSeconds})` })))
      .returning({
        sku: reservations.sku,
        location: reservations.location,
        quantity: reservations.quantity,
        expiresAt: reservations.expiresAt,
        releasedAt: reservations.releasedAt,
        committedAt: reservations.committedAt,
      });
    await recordStockChanges(tx, wanted.map((line) => line.sku));
    return describe(orderId, made, true);
  });
}

/** What a release or commit did: the units it settled now (empty when there was nothing left to settle). */
export interface Settlement {
  orderId: string;
  /** The order's reservation after the call: `none` when it never reserved anything. */
  state: OrderReservation['state'] | 'none';
  settled: HeldUnits[];
}

async function settle(
  db: Executor,
  orderId: string,
  how: { kind: 'release'; expiredBy?: Date } | { kind: 'commit' },
): Promise<Settlement> {
  return db.transaction(async (tx) => {
    await lockOrder(tx, orderId);
    const open = and(eq(reservations.orderId, orderId), isNull(reservations.releasedAt), isNull(reservations.committedAt));
    const expired = how.kind === 'release' && how.expiredBy ? sql`${reservations.expiresAt} <= ${how.expiredBy.toISOString()}::timestamptz` : undefined;
    // The transition and the units it moves come from one statement: a row settled once is not open any more.
    const settled = (
      await tx
        .update(reservations)
        .set(how.kind === 'release' ? { releasedAt: sql`now()` } : { committedAt: sql`now()` })
        .where(and(open, expired))
        .returning({ sku: reservations.sku, location: reservations.location, quantity: reservations.quantity })
    ).sort(byKey);
    if (settled.length > 0) {
      await lockStockRows(tx, keyIn(settled));
      // A commit ships the units: on hand goes down with them. An import may have counted fewer units
      // than were promised; on hand then stops at zero rather than failing the shipment.
      const onHand = how.kind === 'commit' ? sql`, on_hand = greatest(s.on_hand - v.quantity, 0)` : sql``;
      await tx.execute(sql`
        UPDATE ${stockLevels} AS s SET reserved = s.reserved - v.quantity${onHand}, updated_at = now()
        FROM (VALUES ${valuesOf(settled)}) AS v(sku, location, quantity)
        WHERE s.sku = v.sku AND s.location = v.location`);
      await recordStockChanges(tx, settled.map((unit) => unit.sku));
    }
    const rows = await reservationRows(tx, orderId);
    return { orderId, state: rows.length === 0 ? 'none' : describe(orderId, rows, false).state, settled };
  });
}

/**
 * Gives the order's held units back, exactly once: the rows are marked released by the statement that
 * picks them, so a second release (or one racing the first) finds nothing open and changes nothing.
 * The reason is the caller's to log: the table keeps when, not why.
 */
export async function releaseReservation(db: Executor, orderId: string, _reason: string): Promise<Settlement> {
  return settle(db, orderId, { kind: 'release' });
}

/** The order shipped: its units leave the shelf (on hand and reserved both go down), once. */
export async function commitReservation(db: Executor, orderId: string): Promise<Settlement> {
  return settle(db, orderId, { kind: 'commit' });
}

/**
 * Moves the expiry of the order's held units to `until` (never earlier than it already is, so a late
 * retry of an older extension changes nothing). Returns the reservation as it stands; a reservation
 * already released or committed is not reopened.
 */
export async function extendReservation(db: Executor, orderId: string, until: Date): Promise<OrderReservation | undefined> {
  return db.transaction(async (tx) => {
    await lockOrder(tx, orderId);
    await tx
      .update(reservations)
      .set({ expiresAt: sql`greatest(${reservations.expiresAt}, ${until.toISOString()}::timestamptz)` })
      .where(and(eq(reservations.orderId, orderId), isNull(reservations.releasedAt), isNull(reservations.committedAt)));
    const rows = await reservationRows(tx, orderId);
    return rows.length === 0 ? undefined : describe(orderId, rows, false);
  });
}

/** The reservation of an order as it stands, or undefined when it never reserved anything. */
export async function reservationOf(db: Executor, orderId: string): Promise<OrderReservation | undefined> {
  const rows = await reservationRows(db, orderId);
  return rows.length === 0 ? undefined : describe(orderId, rows, false);
}

export interface ExpirySweep {
  /** Orders whose held units were released by this sweep. */
  orders: string[];
  units: number;
  /** True when more orders than `limit` may be past expiry: the caller sweeps again. */
  more: boolean;
}

/**
 * Releases held units whose expiry is at or before `now`: a checkout that died before settling its
 * reservation (or forgot to extend it) gives the stock back. One transaction per order, each releasing
 * only rows still past expiry at that moment, so a checkout extending its hold meanwhile keeps it.
 */
export async function expireStaleReservations(db: Executor, now: Date, limit: number): Promise<ExpirySweep> {
  const candidates = await db.execute<{ order_id: string }>(sql`
    SELECT order_id FROM ${reservations}
    WHERE released_at IS NULL AND committed_at IS NULL AND expires_at <= ${now.toISOString()}::timestamptz
    GROUP BY order_id ORDER BY min(expires_at), order_id LIMIT ${limit + 1}`);
  const orders: string[] = [];
  let units = 0;
  for (const { order_id: orderId } of candidates.slice(0, limit)) {
    const result = await settle(db, orderId, { kind: 'release', expiredBy: now });
    if (result.settled.length === 0) continue;
    orders.push(orderId);
    units += result.settled.reduce((sum, unit) => sum + unit.quantity, 0);
  }
  return { orders, units, more: candidates.length > limit };
}

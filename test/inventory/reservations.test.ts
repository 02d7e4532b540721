import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createInventoryActivities } from '../../activities/inventory/index';
import { upsertProduct } from '../../db/catalog';
import { availableBySku, setStockLevels } from '../../db/inventory';
import {
  commitReservation,
  expireStaleReservations,
  extendReservation,
  InsufficientStock,
  InvalidReservation,
  releaseReservation,
  ReservationMismatch,
  reservationOf,
  reserveStock,
} from '../../db/inventory-reservations';
import { connectPostgres, type Postgres } from '../../platform/postgres';
import { ensureReservationSweepSchedule } from '../../workers/inventory-schedules';
import { ensureSearchIndexSync } from '../../workers/search-sync';
import { inventoryReservationSweepScheduleId, type InsufficientStockDetails } from '../../workflows/inventory/definitions';
import { recordHistory } from '../support/histories';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

const run = Date.now().toString(36).toUpperCase();
let serial = 0;
/** A SKU no other test (or test file: they share the database) touches. */
const newSku = (name: string) => `RES-${run}-${name}-${++serial}`;

let pg: Postgres;
before(() => {
  // Enough connections for the races below to really run side by side.
  pg = connectPostgres(process.env.DATABASE_URL!, { max: 20, applicationName: 'comptoir-test-reservations' });
});
after(() => pg.close());

type Level = { location: string; on_hand: number; reserved: number };
const levelsOf = async (sku: string) =>
  (await pg.sql<Level[]>`SELECT location, on_hand, reserved FROM inventory.stock_levels WHERE sku = ${sku} ORDER BY location`).map((l) => ({ ...l }));
/** Units held by open reservations per location: what `reserved` must always equal. */
const openUnits = async (sku: string) =>
  (
    await pg.sql<{ location: string; units: number }[]>`
      SELECT location, sum(quantity)::int AS units FROM inventory.reservations
      WHERE sku = ${sku} AND released_at IS NULL AND committed_at IS NULL GROUP BY location ORDER BY location`
  ).map((r) => ({ ...r }));
const pendingStockEvents = async (sku: string) =>
  (await pg.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM inventory.outbox WHERE sku = ${sku}`)[0]!.n;

async function assertReservedMatchesReservations(sku: string) {
  const levels = await levelsOf(sku);
  const open = new Map((await openUnits(sku)).map((r) => [r.location, r.units]));
  for (const level of levels) assert.equal(level.reserved, open.get(level.location) ?? 0, `${sku}@${level.location}: reserved = open reservations`);
}

describe('reserveStock: no oversell under concurrency', () => {
  test('50 orders race for 10 units over 2 locations: exactly 10 reserved, 40 refused, never negative', async () => {
    const sku = newSku('RACE');
    await setStockLevels(pg.db, [
      { sku, location: 'lyon-1', onHand: 4 },
      { sku, location: 'paris-1', onHand: 6 },
    ]);
    // Watches the committed state for the whole race: availability must never dip below zero.
    let racing = true;
    let samples = 0;
    const watcher = (async () => {
      while (racing) {
        const [row] = await pg.sql<{ worst: number }[]>`SELECT min(on_hand - reserved)::int AS worst FROM inventory.stock_levels WHERE sku = ${sku}`;
        assert.ok(row!.worst >= 0, `on hand − reserved went to ${row!.worst}`);
        samples += 1;
      }
    })();
    const orders = Array.from({ length: 50 }, () => randomUUID());
    const outcomes = await Promise.allSettled(orders.map((orderId) => reserveStock(pg.db, orderId, [{ sku, quantity: 1 }], { ttlSeconds: 600 })));
    racing = false;
    await watcher;
    assert.ok(samples > 0);

    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 10);
    assert.equal(lost.length, 40);
    for (const failure of lost) {
      assert.ok(failure.reason instanceof InsufficientStock, String(failure.reason));
      assert.deepEqual(failure.reason.shortages, [{ sku, requested: 1, available: 0 }]);
    }
    assert.deepEqual(await levelsOf(sku), [
      { location: 'lyon-1', on_hand: 4, reserved: 4 },
      { location: 'paris-1', on_hand: 6, reserved: 6 },
    ]);
    await assertReservedMatchesReservations(sku);
    const [held] = await pg.sql<{ orders: number }[]>`SELECT count(DISTINCT order_id)::int AS orders FROM inventory.reservations WHERE sku = ${sku}`;
    assert.equal(held!.orders, 10, 'a refused order keeps no reservation row');
    assert.equal((await availableBySku(pg.db, [sku])).get(sku), 0);
  });

  test('one order takes units from its locations in location order, splitting when it must', async () => {
    const sku = newSku('SPLIT');
    await setStockLevels(pg.db, [
      { sku, location: 'b-entrepot', onHand: 4 },
      { sku, location: 'a-entrepot', onHand: 3 },
    ]);
    const reservation = await reserveStock(pg.db, randomUUID(), [{ sku, quantity: 5 }], { ttlSeconds: 600 });
    assert.equal(reservation.created, true);
    assert.equal(reservation.state, 'held');
    assert.deepEqual(reservation.lines, [
      { sku, location: 'a-entrepot', quantity: 3 },
      { sku, location: 'b-entrepot', quantity: 2 },
    ]);
    // A SKU on two lines is one reservation for the sum; a third order finds 2 left.
    await assert.rejects(
      reserveStock(pg.db, randomUUID(), [{ sku, quantity: 2 }, { sku, quantity: 1 }], { ttlSeconds: 600 }),
      (error: unknown) => error instanceof InsufficientStock && error.shortages[0]!.requested === 3 && error.shortages[0]!.available === 2,
    );
    await assertReservedMatchesReservations(sku);
  });

  test('multi-SKU orders naming their SKUs in opposite orders: no deadlock, all or nothing', async () => {
    const plenty = newSku('PLENTY');
    const scarce = newSku('SCARCE');
    await setStockLevels(pg.db, [
      { sku: plenty, location: 'paris-1', onHand: 60 },
      { sku: plenty, location: 'lyon-1', onHand: 40 },
      { sku: scarce, location: 'paris-1', onHand: 20 },
      { sku: scarce, location: 'lyon-1', onHand: 10 },
    ]);
    const orders = Array.from({ length: 40 }, (_, i) => ({
      orderId: randomUUID(),
      lines: i % 2 === 0 ? [{ sku: plenty, quantity: 2 }, { sku: scarce, quantity: 2 }] : [{ sku: scarce, quantity: 2 }, { sku: plenty, quantity: 2 }],
    }));
    const outcomes = await Promise.allSettled(orders.map((o) => reserveStock(pg.db, o.orderId, o.lines, { ttlSeconds: 600 })));
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    // A deadlock would surface here as a Postgres error (40P01) instead of InsufficientStock.
    for (const failure of failures) assert.ok(failure.reason instanceof InsufficientStock, String(failure.reason));
    assert.equal(outcomes.length - failures.length, 15, '30 scarce units, 2 per order');
    for (const failure of failures) {
      assert.deepEqual((failure.reason as InsufficientStock).shortages, [{ sku: scarce, requested: 2, available: 0 }]);
    }
    // The refused orders did not keep the plentiful SKU either.
    const sum = (levels: Level[], key: 'on_hand' | 'reserved') => levels.reduce((total, l) => total + l[key], 0);
    assert.equal(sum(await levelsOf(plenty), 'reserved'), 30);
    assert.equal(sum(await levelsOf(scarce), 'reserved'), 30);
    await assertReservedMatchesReservations(plenty);
    await assertReservedMatchesReservations(scarce);
    const perOrder = await pg.sql<{ n: number }[]>`
      SELECT count(DISTINCT sku)::int AS n FROM inventory.reservations WHERE sku IN (${plenty}, ${scarce}) GROUP BY order_id`;
    assert.equal(perOrder.length, 15);
    assert.ok(perOrder.every((row) => row.n === 2), 'every order holds both SKUs or neither');
  });

  test('an import racing reservations (rows listed in reverse) neither deadlocks nor touches reserved', async () => {
    const skus = [newSku('IMP-A'), newSku('IMP-B'), newSku('IMP-C')];
    const levels = skus.flatMap((sku) => [
      { sku, location: 'lyon-1', onHand: 50 },
      { sku, location: 'paris-1', onHand: 50 },
    ]);
    await setStockLevels(pg.db, levels);
    const reversed = [...levels].reverse();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      work.push(reserveStock(pg.db, randomUUID(), skus.map((sku) => ({ sku, quantity: 1 })), { ttlSeconds: 600 }));
      work.push(setStockLevels(pg.db, reversed.map((level) => ({ ...level, onHand: 50 + (i % 2) }))));
    }
    const outcomes = await Promise.allSettled(work);
    // A deadlock (40P01) would be the cause of a failed query here.
    const errors = outcomes
      .filter((o): o is PromiseRejectedResult => o.status === 'rejected')
      .map((o) => String((o.reason as Error).cause ?? o.reason).split('\n')[0]);
    assert.deepEqual(errors, []);
    for (const sku of skus) {
      assert.equal((await levelsOf(sku)).reduce((total, l) => total + l.reserved, 0), 30);
      await assertReservedMatchesReservations(sku);
    }
  });

  test('an import that counts fewer units than are reserved keeps the reservations; availability stops at zero', async () => {
    const sku = newSku('RECOUNT');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 5 }]);
    await reserveStock(pg.db, randomUUID(), [{ sku, quantity: 4 }], { ttlSeconds: 600 });
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 2 }]);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 2, reserved: 4 }]);
    assert.equal((await availableBySku(pg.db, [sku])).get(sku), 0);
    await assert.rejects(reserveStock(pg.db, randomUUID(), [{ sku, quantity: 1 }], { ttlSeconds: 600 }), InsufficientStock);
  });

  test('bad requests are refused before anything is locked', async () => {
    const sku = newSku('BAD');
    for (const lines of [[], [{ sku, quantity: 0 }], [{ sku, quantity: 1.5 }], [{ sku: '', quantity: 1 }]]) {
      await assert.rejects(reserveStock(pg.db, randomUUID(), lines, { ttlSeconds: 60 }), InvalidReservation, JSON.stringify(lines));
    }
    await assert.rejects(reserveStock(pg.db, randomUUID(), [{ sku, quantity: 1 }], { ttlSeconds: 0 }), InvalidReservation);
    // Unknown SKU: no stock row at all is zero available, not an error of another kind.
    await assert.rejects(reserveStock(pg.db, randomUUID(), [{ sku, quantity: 1 }], { ttlSeconds: 60 }), (error: unknown) =>
      error instanceof InsufficientStock && error.shortages[0]!.available === 0,
    );
  });
});

describe('an order reserves, releases and commits once', () => {
  test('reserving again for the same order (sequentially or concurrently) changes nothing', async () => {
    const sku = newSku('TWICE');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 10 }]);
    const orderId = randomUUID();
    const first = await reserveStock(pg.db, orderId, [{ sku, quantity: 3 }], { ttlSeconds: 600 });
    const events = await pendingStockEvents(sku);
    const again = await reserveStock(pg.db, orderId, [{ sku, quantity: 3 }], { ttlSeconds: 600 });
    assert.equal(again.created, false);
    assert.deepEqual({ ...again, created: true }, first);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 10, reserved: 3 }]);
    assert.equal(await pendingStockEvents(sku), events, 'no stock event for a reservation that changed nothing');
    await assert.rejects(reserveStock(pg.db, orderId, [{ sku, quantity: 4 }], { ttlSeconds: 600 }), ReservationMismatch);

    // A retried activity racing its first attempt: one reservation.
    const racer = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => reserveStock(pg.db, racer, [{ sku, quantity: 2 }], { ttlSeconds: 600 })));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 10, reserved: 5 }]);
  });

  test('release gives the units back exactly once, even when released concurrently; a released order is not reserved again', async () => {
    const sku = newSku('RELEASE');
    await setStockLevels(pg.db, [{ sku, location: 'lyon-1', onHand: 2 }, { sku, location: 'paris-1', onHand: 2 }]);
    const orderId = randomUUID();
    const other = randomUUID();
    await reserveStock(pg.db, orderId, [{ sku, quantity: 3 }], { ttlSeconds: 600 });
    await reserveStock(pg.db, other, [{ sku, quantity: 1 }], { ttlSeconds: 600 });

    const releases = await Promise.all(Array.from({ length: 5 }, () => releaseReservation(pg.db, orderId, 'payment declined')));
    const settled = releases.filter((r) => r.settled.length > 0);
    assert.equal(settled.length, 1, 'one release moved units');
    assert.deepEqual(settled[0]!.settled, [
      { sku, location: 'lyon-1', quantity: 2 },
      { sku, location: 'paris-1', quantity: 1 },
    ]);
    assert.ok(releases.every((r) => r.state === 'released'));
    assert.deepEqual(await levelsOf(sku), [
      { location: 'lyon-1', on_hand: 2, reserved: 0 },
      { location: 'paris-1', on_hand: 2, reserved: 1 },
    ]);
    const events = await pendingStockEvents(sku);
    assert.deepEqual((await releaseReservation(pg.db, orderId, 'again')).settled, []);
    assert.equal(await pendingStockEvents(sku), events);

    // A late retry of the reserve step after its compensation ran does not take the units again.
    const late = await reserveStock(pg.db, orderId, [{ sku, quantity: 3 }], { ttlSeconds: 600 });
    assert.equal(late.state, 'released');
    assert.equal(late.created, false);
    assert.deepEqual(await levelsOf(sku), [
      { location: 'lyon-1', on_hand: 2, reserved: 0 },
      { location: 'paris-1', on_hand: 2, reserved: 1 },
    ]);
    // Releasing an order that never reserved anything is a no-op, as a compensation must be.
    const never = randomUUID();
    assert.deepEqual(await releaseReservation(pg.db, never, 'never reserved'), { orderId: never, state: 'none', settled: [] });
    assert.equal((await reservationOf(pg.db, other))!.state, 'held', "another order's hold is untouched");
    await assertReservedMatchesReservations(sku);
  });

  test('commit takes shipped units off the shelf once; release after commit changes nothing', async () => {
    const sku = newSku('COMMIT');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 5 }]);
    const orderId = randomUUID();
    await reserveStock(pg.db, orderId, [{ sku, quantity: 2 }], { ttlSeconds: 600 });
    const first = await commitReservation(pg.db, orderId);
    assert.deepEqual(first.settled, [{ sku, location: 'paris-1', quantity: 2 }]);
    assert.equal(first.state, 'committed');
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 3, reserved: 0 }]);
    assert.deepEqual((await commitReservation(pg.db, orderId)).settled, []);
    assert.deepEqual((await releaseReservation(pg.db, orderId, 'too late')).settled, []);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 3, reserved: 0 }]);
    assert.equal((await availableBySku(pg.db, [sku])).get(sku), 3);
    // A later import of the same count must not resurrect the shipped units' reservation.
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 3 }]);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 3, reserved: 0 }]);
  });

  test('stale reservations expire; an extended one stays; a bounded sweep says when more remain', async () => {
    const sku = newSku('EXPIRY');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 10 }]);
    const dying: string = randomUUID();
    const extended: string = randomUUID();
    const fresh: string = randomUUID();
    const reserved = await reserveStock(pg.db, dying, [{ sku, quantity: 1 }], { ttlSeconds: 60 });
    await reserveStock(pg.db, extended, [{ sku, quantity: 2 }], { ttlSeconds: 60 });
    await reserveStock(pg.db, fresh, [{ sku, quantity: 3 }], { ttlSeconds: 3600 });
    const [hold] = await pg.sql<{ seconds: number }[]>`
      SELECT extract(epoch FROM expires_at - created_at)::int AS seconds FROM inventory.reservations WHERE order_id = ${dying}`;
    assert.equal(hold!.seconds, 60, 'held for the TTL from the moment it was made');

    const later = new Date(reserved.expiresAt.getTime() + 1_000);
    const extendedTo = new Date(later.getTime() + 3_600_000);
    assert.equal((await extendReservation(pg.db, extended, extendedTo))!.expiresAt.getTime(), extendedTo.getTime());
    // An older extension arriving late does not shorten the hold.
    assert.equal((await extendReservation(pg.db, extended, new Date(Date.now() + 120_000)))!.expiresAt.getTime(), extendedTo.getTime());
    assert.equal(await extendReservation(pg.db, randomUUID(), extendedTo), undefined);

    // Nothing of this test's is stale yet (other files' rows may be: they share the database).
    const none = await expireStaleReservations(pg.db, new Date(), 1_000);
    assert.ok(![dying, extended, fresh].some((id) => none.orders.includes(id)));

    const swept = await expireStaleReservations(pg.db, later, 1_000);
    assert.ok(swept.orders.includes(dying));
    assert.ok(!swept.orders.includes(extended) && !swept.orders.includes(fresh));
    assert.equal((await reservationOf(pg.db, dying))!.state, 'released');
    assert.equal((await reservationOf(pg.db, extended))!.state, 'held');
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 10, reserved: 5 }]);
    assert.deepEqual((await expireStaleReservations(pg.db, later, 1_000)).orders.filter((id) => [dying, extended, fresh].includes(id)), []);

    // A released reservation cannot be extended back to life.
    assert.equal((await extendReservation(pg.db, dying, extendedTo))!.state, 'released');
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 10, reserved: 5 }]);

    // Far in the future everything is stale; a limit of 1 reports that more remain.
    const farFuture = new Date(Date.now() + 365 * 86_400_000);
    const bounded = await expireStaleReservations(pg.db, farFuture, 1);
    assert.equal(bounded.orders.length, 1);
    assert.equal(bounded.more, true);
    await assertReservedMatchesReservations(sku);
  });
});

describe('inventory activities', () => {
  const activities = () => createInventoryActivities({ db: pg.db });

  test('lack of stock is a non-retryable InsufficientStock failure with the shortages in its details', async () => {
    const sku = newSku('ACT');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 1 }]);
    const error = await activities()
      .reserveInventory({ orderId: randomUUID(), lines: [{ sku, quantity: 2 }], ttlSeconds: 600 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, 'InsufficientStock');
    assert.equal(error.nonRetryable, true);
    assert.deepEqual(error.details?.[0] as InsufficientStockDetails, { shortages: [{ sku, requested: 2, available: 1 }] });
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 1, reserved: 0 }]);

    const mismatch = randomUUID();
    await activities().reserveInventory({ orderId: mismatch, lines: [{ sku, quantity: 1 }], ttlSeconds: 600 });
    await assert.rejects(activities().reserveInventory({ orderId: mismatch, lines: [{ sku, quantity: 2 }], ttlSeconds: 600 }), (e: unknown) =>
      e instanceof ApplicationFailure && e.type === 'ReservationMismatch' && e.nonRetryable,
    );
    await assert.rejects(activities().reserveInventory({ orderId: randomUUID(), lines: [], ttlSeconds: 600 }), (e: unknown) =>
      e instanceof ApplicationFailure && e.type === 'InvalidReservation' && e.nonRetryable,
    );
  });

  test('each activity run twice has the effect of running once', async () => {
    const sku = newSku('IDEM');
    await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 10 }]);
    const a = activities();
    const shipped = randomUUID();
    const cancelled = randomUUID();

    const reserved = await a.reserveInventory({ orderId: shipped, lines: [{ sku, quantity: 4 }], ttlSeconds: 600 });
    const retried = await a.reserveInventory({ orderId: shipped, lines: [{ sku, quantity: 4 }], ttlSeconds: 600 });
    assert.deepEqual(retried, { ...reserved, created: false });
    assert.equal(typeof reserved.expiresAt, 'string', 'plain JSON for the workflow');
    await a.reserveInventory({ orderId: cancelled, lines: [{ sku, quantity: 3 }], ttlSeconds: 600 });
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 10, reserved: 7 }]);

    const until = new Date(Date.now() + 86_400_000).toISOString();
    assert.equal((await a.extendInventoryReservation({ orderId: shipped, until })).expiresAt, until);
    assert.equal((await a.extendInventoryReservation({ orderId: shipped, until })).expiresAt, until);

    assert.equal((await a.releaseInventory({ orderId: cancelled, reason: 'cancelled by the shopper' })).units, 3);
    assert.equal((await a.releaseInventory({ orderId: cancelled, reason: 'cancelled by the shopper' })).units, 0);
    assert.equal((await a.commitInventory({ orderId: shipped })).units, 4);
    assert.equal((await a.commitInventory({ orderId: shipped })).units, 0);
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 6, reserved: 0 }]);

    await assert.rejects(a.commitInventory({ orderId: cancelled }), (e: unknown) => e instanceof ApplicationFailure && e.type === 'ReservationReleased' && e.nonRetryable);
    await assert.rejects(a.commitInventory({ orderId: randomUUID() }), (e: unknown) => e instanceof ApplicationFailure && e.type === 'ReservationNotFound');
    await assert.rejects(a.extendInventoryReservation({ orderId: cancelled, until }), (e: unknown) => e instanceof ApplicationFailure && e.type === 'ReservationReleased');
    assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 6, reserved: 0 }]);
  });
});

describe('through the running system', () => {
  let config: ReturnType<typeof testConfig>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  before(async () => {
    config = testConfig('inventory-reservations', { WORKER_METRICS_PORT: String(await freePort()) });
    api = await startApi(config);
    worker = await startWorker(config);
    await ensureSearchIndexSync(worker.context, { batchSize: 50, idleWaitMs: 2_000 });
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
  });

  test('the catalog shows on hand − reserved once the stock outbox is drained: product page, listing filter and search', async () => {
    const slug = `lampe-reservee-${run.toLowerCase()}`;
    const sku = newSku('LAMP');
    const title = `Lampe réservée ${run}`;
    await pg.db.transaction((tx) =>
      upsertProduct(tx, {
        slug,
        title,
        description: 'Une lampe que tout le monde veut.',
        status: 'published',
        attributes: {},
        categories: [],
        variants: [{ sku, title: 'Unique', options: {}, prices: [{ currency: 'EUR', amount: 3900 }] }],
      }),
    );
    await setStockLevels(pg.db, [
      { sku, location: 'lyon-1', onHand: 3 },
      { sku, location: 'paris-1', onHand: 7 },
    ]);
    type Detail = { inStock: boolean; variants: { sku: string; available: number }[] };
    const detail = async () => {
      const response = await fetch(`${api.baseUrl}/v1/products/${slug}`);
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()) as Detail;
    };
    const availableNow = async () => (await detail()).variants.find((v) => v.sku === sku)!.available;
    const inStockListing = async () => {
      const page = (await (await fetch(`${api.baseUrl}/v1/products?inStock=true&limit=100&sort=newest`)).json()) as { items: { slug: string }[] };
      return page.items.some((item) => item.slug === slug);
    };
    const searchHit = async () => {
      const page = (await (await fetch(`${api.baseUrl}/v1/search?q=${encodeURIComponent(title)}`)).json()) as { items: { slug: string; inStock: boolean }[] };
      return page.items.find((item) => item.slug === slug);
    };
    await waitFor(async () => (await availableNow()) === 10, { what: 'the product page to show 10 available' });
    await waitFor(async () => (await searchHit())?.inStock === true, { what: 'the product to be indexed in stock' });

    const first = randomUUID();
    await reserveStock(pg.db, first, [{ sku, quantity: 4 }], { ttlSeconds: 600 });
    await waitFor(async () => (await availableNow()) === 6, { what: 'the reservation to reach the product page' });

    // Everything else goes: the product is sold out everywhere the catalog shows stock, while on hand is still 10.
    const second = randomUUID();
    await reserveStock(pg.db, second, [{ sku, quantity: 6 }], { ttlSeconds: 600 });
    const soldOut = await waitFor(async () => {
      const page = await detail();
      return page.inStock === false ? page : undefined;
    }, { what: 'the product page to show it sold out' });
    assert.equal(soldOut.variants.find((v) => v.sku === sku)!.available, 0);
    await waitFor(async () => (await searchHit())?.inStock === false, { what: 'the search index to show it out of stock' });
    assert.equal(await inStockListing(), false, 'the inStock listing filter counts reserved units as gone');
    assert.deepEqual((await levelsOf(sku)).map((l) => l.on_hand), [3, 7]);

    await releaseReservation(pg.db, second, 'payment declined');
    await waitFor(async () => (await availableNow()) === 6, { what: 'the release to reach the product page' });
    assert.equal(await inStockListing(), true);
    await waitFor(async () => (await searchHit())?.inStock === true, { what: 'the search index to show it back in stock' });
  });

  test('the sweep Schedule runs every minute on the catalog queue, and a run releases expired holds through Temporal', async () => {
    const scheduleId = await ensureReservationSweepSchedule(worker.context);
    assert.equal(scheduleId, inventoryReservationSweepScheduleId(config.TASK_QUEUE_PREFIX));
    await ensureReservationSweepSchedule(worker.context); // a second worker starting: no error, still one Schedule
    const client = new Client({ connection: worker.context.connection, namespace: config.TEMPORAL_NAMESPACE });
    const handle = client.schedule.getHandle(scheduleId);
    try {
      const described = await handle.describe();
      assert.equal(described.spec.intervals?.[0]?.every, 60_000);
      assert.equal(described.action.type, 'startWorkflow');
      assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, config.taskQueues.catalog);

      const sku = newSku('SWEEP');
      await setStockLevels(pg.db, [{ sku, location: 'paris-1', onHand: 5 }]);
      const stale = randomUUID();
      const kept = randomUUID();
      await reserveStock(pg.db, stale, [{ sku, quantity: 2 }], { ttlSeconds: 600 });
      await reserveStock(pg.db, kept, [{ sku, quantity: 1 }], { ttlSeconds: 600 });
      // The checkout died long ago: its hold ran out (moved back here rather than waited for).
      await pg.sql`UPDATE inventory.reservations SET expires_at = now() - interval '1 second' WHERE order_id = ${stale}`;

      await handle.trigger();
      await waitFor(async () => (await reservationOf(pg.db, stale))?.state === 'released', { what: 'the scheduled sweep to release the stale hold' });
      assert.equal((await reservationOf(pg.db, kept))!.state, 'held');
      assert.deepEqual(await levelsOf(sku), [{ location: 'paris-1', on_hand: 5, reserved: 1 }]);

      const workflowId = await waitFor(async () => {
        const recent = (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
        if (!recent) return undefined;
        const status = (await client.workflow.getHandle(recent).describe()).status.name;
        return status === 'COMPLETED' ? recent : undefined;
      }, { what: 'the sweep run to complete' });
      await recordHistory(client, workflowId, 'inventoryReservationSweep');
    } finally {
      await handle.delete();
    }
  });
});

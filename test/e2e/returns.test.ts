/**
 * Returns and refunds end to end, over HTTP only: a real checkout with the real sandbox payment provider,
 * real fulfilment with the real sandbox carrier process (its signed tracking webhooks bring the order to
 * COMPLETED, and bring the return parcel back), then the return, the ops inspection, the restock, the
 * partial refund through the payment workflow and its credit note; the parcel received by ops instead;
 * refusals as problem+json; and concurrent goodwill refunds that never exceed what was captured.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { ledgerBalance } from '../../db/payments';
import { auditLog } from '../../db/schema/identity';
import { stockLevels } from '../../db/schema/inventory';
import { orderRecords } from '../../db/schema/orders';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxCarrier, type SandboxCarrier } from '../support/sandbox-carrier';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { orderEventsOf } from '../returns/fixtures';

type Order = { id: string; status: string; statusReason: string | null; totalAmount: number };
type ReturnView = {
  id: string;
  status: string;
  statusReason: string | null;
  lines: { sku: string; quantity: number; paid: { amount: number }; accepted: number | null; rejected: number | null; restocked: boolean }[];
  label: { trackingNumber: string; labelUrl: string } | null;
  receivedVia: 'carrier' | 'ops' | null;
  refund: { refundId: string; amount: { amount: number; currency: string }; refundedAt: string | null } | null;
};
type CreditNote = { refundId: string; number: string; lines: { sku: string | null; quantity: number | null; grossAmount: number }[]; totals: { grossAmount: number } };
type Refund = { refundId: string; amount: { amount: number; currency: string }; status: string };

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `RE-${run}-${name}`;
const address = { name: 'Camille Martin', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

describe('returns and refunds end to end', () => {
  let psp: SandboxProvider;
  let carrier: SandboxCarrier;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let config: ReturnType<typeof testConfig>;
  let ops: SignedIn;
  let support: SignedIn;

  before(async () => {
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    carrier = await startSandboxCarrier({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/shipments`, webhookSecret, log: 'error' });
    config = testConfig('returns-e2e', {
      API_PORT: String(apiPort),
      WEBHOOK_SIGNING_SECRET: webhookSecret,
      PAYMENT_PROVIDER_URL: psp.baseUrl,
      PAYMENT_PROVIDER_API_KEY: psp.apiKey,
      CARRIER_URL: carrier.baseUrl,
      CARRIER_API_KEY: carrier.apiKey,
    });
    api = await startApi(config);
    worker = await startWorker(config);
    await api.deps.db.transaction(async (tx) => {
      for (const [name, amount] of [['MUG', 1500], ['TEAPOT', 4900]] as const) {
        await upsertProduct(tx, {
          slug: `re-${name.toLowerCase()}-${run.toLowerCase()}`,
          title: name,
          description: '',
          status: 'published',
          attributes: {},
          categories: [],
          variants: [{ sku: sku(name), title: name, options: {}, prices: [{ currency: 'EUR', amount }] }],
        });
      }
    });
    await setStockLevels(api.deps.db, [
      { sku: sku('MUG'), location: 'paris', onHand: 500 },
      { sku: sku('TEAPOT'), location: 'paris', onHand: 500 },
    ]);
    [ops, support] = await Promise.all([signedInAs(config, 'ops'), signedInAs(config, 'support')]);
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
    await carrier?.stop();
    await psp?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const get = (path: string, who: SignedIn) => fetch(url(path), { headers: who.headers });

  /** An order of `lines`, checked out and paid over HTTP; its id. */
  async function paidOrder(customer: SignedIn, lines: Record<string, number>): Promise<string> {
    const cart = await json<{ id: string }>(await post('/v1/carts', { currency: 'EUR' }, customer.headers), 201);
    for (const [line, quantity] of Object.entries(lines)) {
      await json(await fetch(url(`/v1/carts/${cart.id}/lines/${line}`), { method: 'PUT', headers: { ...customer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ quantity }) }), 200);
    }
    const paymentToken = await psp.tokenise(testCards.success);
    const placed = await json<{ orderId: string }>(
      await post('/v1/checkout', { cartId: cart.id, shippingAddress: address, shippingMethod: 'standard', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() }),
      201,
    );
    return placed.orderId;
  }

  const untilOrder = (customer: SignedIn, orderId: string, statuses: string[]) =>
    waitFor(async () => {
      const order = await json<Order>(await get(`/v1/orders/${orderId}`, customer), 200);
      return statuses.includes(order.status) ? order : undefined;
    }, { what: `order ${orderId} to reach ${statuses.join('/')}`, timeoutMs: 120_000, intervalMs: 250 });

  const untilReturn = (customer: SignedIn, returnId: string, status: string) =>
    waitFor(async () => {
      const found = await json<ReturnView>(await get(`/v1/returns/${returnId}`, customer), 200);
      return found.status === status ? found : undefined;
    }, { what: `return ${returnId} ${status}`, timeoutMs: 90_000, intervalMs: 250 });

  const askReturn = (customer: SignedIn, orderId: string, body: unknown) => post(`/v1/orders/${orderId}/returns`, body, { ...customer.headers, 'idempotency-key': randomUUID() });

  async function onHand(line: string): Promise<number> {
    const [row] = await api.deps.db.select().from(stockLevels).where(and(eq(stockLevels.sku, line), eq(stockLevels.location, 'paris')));
    return row?.onHand ?? 0;
  }

  test('a return with a partial refund and a credit note; the parcel comes back through the carrier webhook', async () => {
    const customer = await signedInAs(config, 'customer');
    const orderId = await paidOrder(customer, { [sku('MUG')]: 3, [sku('TEAPOT')]: 1 });
    const order = await untilOrder(customer, orderId, ['COMPLETED', 'CANCELLED', 'FAILED']);
    assert.equal(order.status, 'COMPLETED', order.statusReason ?? '');
    const stockBefore = { mug: await onHand(sku('MUG')), teapot: await onHand(sku('TEAPOT')) };

    // Bad input on the real order: each refusal names its field, and nothing is recorded.
    assert.deepEqual(fields(await problem(await askReturn(customer, orderId, { lines: [{ sku: sku('SPOON'), quantity: 1 }], reason: 'x' }), 422)), ['lines.0.sku']);
    assert.deepEqual(fields(await problem(await askReturn(customer, orderId, { lines: [{ sku: sku('TEAPOT'), quantity: 2 }], reason: 'x' }), 422)), ['lines.0.quantity']);
    assert.deepEqual(fields(await problem(await askReturn(customer, orderId, { lines: [], reason: 'x' }), 422)), ['lines']);

    const asked = await askReturn(customer, orderId, { lines: [{ sku: sku('MUG'), quantity: 2 }, { sku: sku('TEAPOT'), quantity: 1 }], reason: 'not what I expected' });
    const created = await json<ReturnView>(asked, 202);
    assert.equal(created.status, 'requested');

    // The label is booked; the sandbox carrier collects the parcel and its signed webhooks bring it back.
    const received = await untilReturn(customer, created.id, 'received');
    assert.equal(received.receivedVia, 'carrier');
    assert.ok(received.label?.trackingNumber);
    const parcel = (await carrier.parcelByReference(created.id))!;
    assert.equal(parcel.kind, 'return');
    assert.equal(parcel.trackingNumber, received.label!.trackingNumber);

    // Ops inspect: one mug chipped. Only ops decide; a decision that does not fit is refused.
    const inspection = { lines: [{ sku: sku('MUG'), accepted: 1, rejected: 1 }, { sku: sku('TEAPOT'), accepted: 1, rejected: 0 }], note: 'one mug chipped' };
    await problem(await post(`/v1/admin/returns/${created.id}/inspection`, inspection, customer.headers), 403);
    const misfit = await problem(await post(`/v1/admin/returns/${created.id}/inspection`, { lines: [{ sku: sku('MUG'), accepted: 2, rejected: 1 }] }, ops.headers), 422);
    assert.deepEqual(fields(misfit), ['lines.0.accepted', 'lines']);
    assert.equal((await post(`/v1/admin/returns/${created.id}/inspection`, inspection, ops.headers)).status, 202);

    const refunded = await untilReturn(customer, created.id, 'refunded');
    assert.deepEqual(refunded.refund?.amount, { amount: 1500 + 4900, currency: 'EUR' });
    assert.deepEqual(refunded.lines.map((line) => [line.sku, line.accepted, line.rejected, line.restocked]), [
      [sku('MUG'), 1, 1, true],
      [sku('TEAPOT'), 1, 0, true],
    ]);
    await problem(await post(`/v1/admin/returns/${created.id}/inspection`, inspection, ops.headers), 409);

    // Money: the accepted units at what was paid for them, never more than captured.
    const balance = (await ledgerBalance(api.deps.db, orderId))!;
    assert.equal(balance.captured, order.totalAmount);
    assert.equal(balance.refunded, 6400);
    assert.equal((await psp.paymentsOf(orderId))[0]!.refundedAmount, 6400);
    // The credit note, on the order's invoice: the accepted units themselves, for exactly the refund.
    const { creditNotes } = await json<{ creditNotes: CreditNote[] }>(await get(`/v1/orders/${orderId}/credit-notes`, customer), 200);
    assert.equal(creditNotes.length, 1);
    assert.equal(creditNotes[0]!.refundId, `return-${created.id}`);
    assert.equal(creditNotes[0]!.totals.grossAmount, 6400);
    assert.deepEqual(creditNotes[0]!.lines.map((line) => [line.sku, line.quantity, line.grossAmount]).sort(), [[sku('MUG'), 1, 1500], [sku('TEAPOT'), 1, 4900]]);
    // Loyalty: the order keeps the points its net amount earns (bronze, 1 per whole euro), the rest clawed back once.
    const expectedPoints = Math.floor((order.totalAmount - 6400) / 100);
    const loyalty = await waitFor(async () => {
      const view = await json<{ balance: number }>(await get('/v1/me/loyalty', customer), 200);
      return view.balance === expectedPoints ? view : undefined;
    }, { what: `loyalty balance ${expectedPoints} after the refund` });
    assert.equal(loyalty.balance, expectedPoints);
    // Stock: the accepted units are back on the shelf they left, the chipped mug is not.
    assert.equal(await onHand(sku('MUG')), stockBefore.mug + 1);
    assert.equal(await onHand(sku('TEAPOT')), stockBefore.teapot + 1);
    // The customer is told at each step, once; ops' decision is in the audit log.
    const events = await orderEventsOf(api.deps.db, orderId);
    for (const event of ['return_authorised', 'return_received', 'refund_issued']) assert.equal(events.filter((e) => e === event).length, 1, `${event} in ${events.join(', ')}`);
    const audited = await api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'returns.inspection'), eq(auditLog.targetId, created.id)));
    assert.equal(audited.length, 1);
    assert.equal(audited[0]!.actorId, ops.accountId);

    // What is already returned counts: one mug is left to return, no teapot.
    assert.deepEqual(fields(await problem(await askReturn(customer, orderId, { lines: [{ sku: sku('MUG'), quantity: 2 }], reason: 'again' }), 422)), ['lines.0.quantity']);
    // Outside the window (the order delivered 31 days ago): refused, naming the order.
    await api.deps.db.update(orderRecords).set({ returnWindowEndsAt: new Date(Date.now() - 24 * 3_600_000) }).where(eq(orderRecords.id, orderId));
    const late = await problem(await askReturn(customer, orderId, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'late' }), 422);
    assert.equal(late.type, 'https://comptoir.dev/problems/return-window-closed');
    assert.deepEqual(fields(late), ['id']);
  });

  test('before delivery the return is refused; once delivered, the parcel comes back by the ops receipt', async () => {
    // The carrier moves nothing by itself here: the test moves the order's parcels, and the return's never moves.
    await carrier.settings({ autoAdvance: false });
    try {
      const customer = await signedInAs(config, 'customer');
      const orderId = await paidOrder(customer, { [sku('MUG')]: 1 });
      const parcels = await waitFor(async () => {
        const booked = await carrier.parcelsOf(orderId);
        return booked.length > 0 ? booked : undefined;
      }, { what: 'the outbound parcel booked', timeoutMs: 90_000 });
      const early = await problem(await askReturn(customer, orderId, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'early' }), 409);
      assert.equal(early.type, 'https://comptoir.dev/problems/order-not-returnable');
      for (const parcel of parcels) {
        for (let step = 0; step < 10; step++) if ((await carrier.advance(parcel.id)).type === 'delivered') break;
      }
      await untilOrder(customer, orderId, ['COMPLETED']);

      const created = await json<ReturnView>(await askReturn(customer, orderId, { lines: [{ sku: sku('MUG'), quantity: 1 }], reason: 'gift, already have one' }), 202);
      await untilReturn(customer, created.id, 'authorised');
      const tooEarly = await problem(await post(`/v1/admin/returns/${created.id}/inspection`, { lines: [{ sku: sku('MUG'), accepted: 1, rejected: 0 }] }, ops.headers), 409);
      assert.equal(tooEarly.type, 'https://comptoir.dev/problems/return-not-received');
      await problem(await post(`/v1/admin/returns/${created.id}/receipt`, {}, customer.headers), 403);
      assert.equal((await post(`/v1/admin/returns/${created.id}/receipt`, { note: 'dropped at the warehouse' }, ops.headers)).status, 202);
      const received = await untilReturn(customer, created.id, 'received');
      assert.equal(received.receivedVia, 'ops');
      await problem(await post(`/v1/admin/returns/${created.id}/receipt`, {}, ops.headers), 409);
      assert.equal((await post(`/v1/admin/returns/${created.id}/inspection`, { lines: [{ sku: sku('MUG'), accepted: 1, rejected: 0 }] }, ops.headers)).status, 202);
      const refunded = await untilReturn(customer, created.id, 'refunded');
      assert.equal(refunded.refund?.amount.amount, 1500);
      assert.equal((await ledgerBalance(api.deps.db, orderId))!.refunded, 1500);
      const audited = await api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'returns.receipt'), eq(auditLog.targetId, created.id)));
      assert.equal(audited.length, 1);
    } finally {
      await carrier.settings({ autoAdvance: true });
    }
  });

  test('ten concurrent goodwill refunds whose sum exceeds the capture: the ledger never refunds more than captured, the losers get a clear 409', async () => {
    const customer = await signedInAs(config, 'customer');
    const orderId = await paidOrder(customer, { [sku('MUG')]: 2 });
    const order = await untilOrder(customer, orderId, ['CONFIRMED', 'SHIPPED', 'COMPLETED']);
    assert.equal(order.totalAmount, 3490);
    const refund = (amount: number, key = randomUUID(), who = support) =>
      post(`/v1/orders/${orderId}/refunds`, { amount: { amount, currency: 'EUR' }, reason: 'parcel arrived late' }, { ...who.headers, 'idempotency-key': key });

    // Who and what: support only; the order's currency; a positive amount.
    await problem(await refund(100, randomUUID(), customer), 403);
    assert.deepEqual(fields(await problem(await post(`/v1/orders/${orderId}/refunds`, { amount: { amount: 100, currency: 'USD' }, reason: 'x' }, { ...support.headers, 'idempotency-key': randomUUID() }), 422)), ['amount.currency']);
    assert.deepEqual(fields(await problem(await refund(0), 422)), ['amount.amount']);

    const keys = Array.from({ length: 10 }, () => randomUUID());
    const answers = await Promise.all(keys.map((key) => refund(1000, key)));
    const outcomes = await Promise.all(answers.map(async (answer) => ({ status: answer.status, body: (await answer.json()) as Refund & { type?: string; errors?: { field: string }[] } })));
    const won = outcomes.filter((outcome) => outcome.status === 201);
    const lost = outcomes.filter((outcome) => outcome.status !== 201);
    assert.equal(won.length, 3, JSON.stringify(outcomes.map((o) => [o.status, o.body.type ?? o.body.status])));
    for (const loser of lost) {
      assert.equal(loser.status, 409);
      assert.equal(loser.body.type, 'https://comptoir.dev/problems/refund-exceeds-captured');
      assert.deepEqual(loser.body.errors?.map((e) => e.field), ['amount.amount']);
    }
    const balance = (await ledgerBalance(api.deps.db, orderId))!;
    assert.equal(balance.captured, 3490);
    assert.equal(balance.refunded, 3000);
    assert.ok(balance.refunded <= balance.captured);
    assert.equal((await psp.paymentsOf(orderId))[0]!.refunds.length, 3);

    // A retry of a winner replays its answer and refunds nothing more.
    const winnerKey = keys[outcomes.findIndex((outcome) => outcome.status === 201)]!;
    const replay = await refund(1000, winnerKey);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.status, 201);
    // What is left, exactly, can still be refunded; then nothing.
    assert.equal((await json<Refund>(await refund(490), 201)).status, 'succeeded');
    assert.equal((await problem(await refund(1), 409)).type, 'https://comptoir.dev/problems/refund-exceeds-captured');
    const final = (await ledgerBalance(api.deps.db, orderId))!;
    assert.deepEqual([final.captured, final.refunded], [3490, 3490]);

    const listed = await json<{ refunds: Refund[] }>(await get(`/v1/orders/${orderId}/refunds`, customer), 200);
    assert.deepEqual(listed.refunds.map((r) => [r.amount.amount, r.status]), [[1000, 'succeeded'], [1000, 'succeeded'], [1000, 'succeeded'], [490, 'succeeded']]);
    // Each refund has its credit note; every request, granted or refused, is in the audit log.
    const { creditNotes } = await json<{ creditNotes: CreditNote[] }>(await get(`/v1/orders/${orderId}/credit-notes`, customer), 200);
    assert.deepEqual(creditNotes.map((note) => note.totals.grossAmount).sort(), [1000, 1000, 1000, 490]);
    const audited = await api.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'refunds.goodwill'), eq(auditLog.targetId, orderId)));
    assert.equal(audited.length, 10 + 2, 'ten concurrent, the rest, and the last refused one');
    assert.ok(audited.every((entry) => entry.actorId === support.accountId));
    // The customer hears of each refund once.
    assert.equal((await orderEventsOf(api.deps.db, orderId)).filter((event) => event === 'refund_issued').length, 4);
  });
});

/**
 * Invoices and credit notes against real Postgres: gap-free numbering under concurrency, immutability
 * enforced by the database, idempotent issuing (also through the payment activities, against the real
 * sandbox provider), credit notes that add up, and the GDPR story of the buyer block.
 *
 * The numbering series of this file are its own (INVOICE_NUMBER_PREFIX / CREDIT_NOTE_NUMBER_PREFIX), so
 * other test files issuing invoices at the same time cannot interleave with the numbers checked here.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { createPaymentActivities } from '../../activities/payments/payments';
import { paymentProviderFrom } from '../../activities/payments/index';
import { upsertProduct, variantsForSale } from '../../db/catalog';
import { creditNotesOfInvoice, invoiceLinesOf, invoiceOfOrder } from '../../db/invoices';
import { insertOrder } from '../../db/orders';
import { ledgerOf } from '../../db/payments';
import { documentCounters, invoices } from '../../db/schema/invoicing';
import { replaceValues } from '../../db/identity/pii-rotation';
import { invoicingDomain, ordersDomain, personalDataDomains } from '../../identity/gdpr';
import { piiFields } from '../../identity/pii-fields';
import { CreditNoteRefused } from '../../invoicing/credit-note-lines';
import { checkRefundCreditable, issueCreditNoteForRefund, issueInvoiceForOrder, openBuyer } from '../../invoicing/invoices';
import { totalsOf } from '../../invoicing/invoice-lines';
import { priceCart } from '../../orders/pricing';
import type { TaxCategory } from '../../orders/tax';
import { createLogger } from '../../platform/logger';
import { encryptPii } from '../../platform/pii';
import { connectPostgres } from '../../platform/postgres';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { testConfig } from '../support/stack';

const run = randomBytes(3).toString('hex').toUpperCase();
const letters = () => Array.from(randomBytes(4), (b) => String.fromCharCode(65 + (b % 26))).join('');
const config = testConfig('invoicing', { INVOICE_NUMBER_PREFIX: `I${letters()}`, CREDIT_NOTE_NUMBER_PREFIX: `C${letters()}` });
const postgres = connectPostgres(config.DATABASE_URL, { max: 20, applicationName: 'comptoir-test-invoicing' });
const { db, sql } = postgres;
const silent = createLogger({ level: 'silent', name: 'invoicing-test' });
const sku = (name: string) => `IV-${run}-${name}`;

const address = (n: number) => ({ name: `Camille Invoiced ${run}-${n}`, line1: `${n} rue des Factures`, postalCode: '69001', city: 'Lyon', country: 'FR', phone: '+33600000000' });

async function product(name: string, amount: number, taxCategory: TaxCategory) {
  await db.transaction((tx) =>
    upsertProduct(tx, {
      slug: `iv-${name.toLowerCase()}-${run.toLowerCase()}`,
      title: `Invoice test ${name}`,
      description: '',
      status: 'published',
      attributes: {},
      taxCategory,
      categories: [],
      variants: [{ sku: sku(name), title: name, options: {}, prices: [{ currency: 'EUR', amount }] }],
    }),
  );
}

/** An order as the checkout creates it: priced by the same function, the address sealed like createOrder seals it. */
async function placeOrder(lines: Record<string, number>, options: { country?: string; accountId?: string; n?: number } = {}) {
  const country = options.country ?? 'FR';
  const cartLines = Object.entries(lines)
    .filter(([, quantity]) => quantity > 0)
    .map(([name, quantity]) => ({ sku: sku(name), quantity }));
  const variants = await variantsForSale(db, cartLines.map((l) => l.sku), 'EUR');
  const priced = priceCart({ currency: 'EUR', lines: cartLines, variants, availability: new Map(cartLines.map((l) => [l.sku, 999])), shipping: { method: 'standard', country } });
  assert.ok(priced.purchasable);
  const id = randomUUID();
  const accountId = options.accountId ?? randomUUID();
  await db.transaction((tx) =>
    insertOrder(
      tx,
      {
        id,
        cartId: randomUUID(),
        accountId,
        status: 'PAID',
        currency: 'EUR',
        subtotalAmount: priced.subtotalAmount,
        shippingAmount: priced.shippingAmount,
        discountAmount: 0,
        taxAmount: priced.taxAmount,
        totalAmount: priced.totalAmount,
        shippingMethod: 'standard',
        shippingCountry: country,
        shippingAddressEnc: encryptPii(config.pii.keyring, JSON.stringify({ ...address(options.n ?? 0), country }), piiFields.orderShippingAddress.context(id)),
        workflowId: `test-${id}`,
      },
      priced.lines.map((l) => ({ sku: l.sku, title: l.title, quantity: l.quantity, unitAmount: l.unitAmount, lineAmount: l.lineAmount, taxAmount: l.taxAmount })),
    ),
  );
  return { id, accountId, priced };
}

async function counter(series: string) {
  const [row] = await db.select().from(documentCounters).where(eq(documentCounters.series, series));
  return row?.lastNumber ?? 0;
}

/** The Postgres error code a statement failed with. */
async function refusal(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'accepted';
}

before(async () => {
  await product('TEAPOT', 2990, 'standard');
  await product('BOOK', 1999, 'reduced');
  await product('PRESS', 450, 'super_reduced');
});
after(() => postgres.close());

describe('numbering', () => {
  test('50 concurrent captures → 50 invoices, numbered 1..50 of the year with no gap and no repeat; retried, nothing more', async () => {
    const orders = await Promise.all(Array.from({ length: 50 }, (_, n) => placeOrder({ TEAPOT: 1 + (n % 3), BOOK: n % 2 }, { n })));
    const issued = await Promise.all(orders.map((order) => issueInvoiceForOrder(db, config, order.id)));
    assert.deepEqual(new Set(issued.map((r) => r.status)), new Set(['issued']));
    const rows = issued.map((r) => (r.status === 'issued' ? r.invoice : assert.fail(r.status)));
    const year = new Date().getUTCFullYear();
    const expected = Array.from({ length: 50 }, (_, i) => `${config.INVOICE_NUMBER_PREFIX}-${year}-${String(i + 1).padStart(6, '0')}`);
    assert.deepEqual(rows.map((r) => r.number).sort(), expected, 'consecutive, no gap, no duplicate');
    assert.deepEqual(rows.map((r) => r.sequence).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(await counter(config.INVOICE_NUMBER_PREFIX), 50);
    const bySequence = [...rows].sort((a, b) => a.sequence - b.sequence);
    for (let i = 1; i < bySequence.length; i++) assert.ok(bySequence[i]!.issuedAt >= bySequence[i - 1]!.issuedAt, 'numbers and dates rise together');
    for (const [i, order] of orders.entries()) {
      assert.equal(rows[i]!.orderId, order.id);
      assert.equal(rows[i]!.totalGross, order.priced.totalAmount);
      assert.equal(rows[i]!.totalVat, order.priced.taxAmount, 'the VAT the shopper was shown');
    }

    // A retried capture activity (here: all of them again, concurrently) issues nothing.
    const again = await Promise.all(orders.map((order) => issueInvoiceForOrder(db, config, order.id)));
    assert.deepEqual(new Set(again.map((r) => r.status)), new Set(['already_issued']));
    assert.equal(await counter(config.INVOICE_NUMBER_PREFIX), 50, 'no number drawn by a retry');
  });

  test('the same order issued 10 times at once: one invoice, one number (the losers give theirs back)', async () => {
    const before = await counter(config.INVOICE_NUMBER_PREFIX);
    const order = await placeOrder({ TEAPOT: 1 });
    const results = await Promise.all(Array.from({ length: 10 }, () => issueInvoiceForOrder(db, config, order.id)));
    assert.equal(results.filter((r) => r.status === 'issued').length, 1);
    assert.equal(new Set(results.map((r) => (r.status === 'no_order' ? '' : r.invoice.id))).size, 1);
    assert.equal(await counter(config.INVOICE_NUMBER_PREFIX), before + 1);
    assert.deepEqual(await issueInvoiceForOrder(db, config, randomUUID()), { status: 'no_order' });
  });
});

describe('immutability, enforced by the database', () => {
  test('issued invoices, their lines, credit notes and counters refuse UPDATE, DELETE and TRUNCATE; a number cannot be skipped or left unused', async () => {
    const order = await placeOrder({ TEAPOT: 2 });
    const issued = await issueInvoiceForOrder(db, config, order.id);
    assert.equal(issued.status, 'issued');
    const { id } = (issued as { invoice: { id: string } }).invoice;
    const note = await issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: 'immutable-1', amount: 100 });
    assert.equal(note.status, 'issued');
    const noteId = (note as { creditNote: { id: string } }).creditNote.id;

    const refused = '42501';
    assert.equal(await refusal(sql`UPDATE invoicing.invoices SET total_gross = total_gross + 1, total_net = total_net + 1 WHERE id = ${id}`), refused);
    assert.equal(await refusal(sql`UPDATE invoicing.invoices SET number = 'X' WHERE id = ${id}`), refused);
    assert.equal(await refusal(sql`DELETE FROM invoicing.invoices WHERE id = ${id}`), refused);
    assert.equal(await refusal(sql`UPDATE invoicing.invoice_lines SET description = 'changed' WHERE invoice_id = ${id}`), refused);
    assert.equal(await refusal(sql`DELETE FROM invoicing.invoice_lines WHERE invoice_id = ${id}`), refused);
    assert.equal(await refusal(sql`UPDATE invoicing.credit_notes SET reason = 'changed' WHERE id = ${noteId}`), refused);
    assert.equal(await refusal(sql`DELETE FROM invoicing.credit_notes WHERE id = ${noteId}`), refused);
    assert.equal(await refusal(sql`UPDATE invoicing.credit_note_lines SET gross = 0, net = 0, vat = 0 WHERE credit_note_id = ${noteId}`), refused);
    assert.equal(await refusal(sql`DELETE FROM invoicing.credit_note_lines WHERE credit_note_id = ${noteId}`), refused);
    for (const table of ['invoices', 'invoice_lines', 'credit_notes', 'credit_note_lines', 'document_counters']) {
      assert.equal(await refusal(sql.unsafe(`TRUNCATE invoicing.${table} CASCADE`)), refused, table);
    }
    assert.equal(await refusal(sql`DELETE FROM invoicing.document_counters WHERE series = ${config.INVOICE_NUMBER_PREFIX}`), refused);
    assert.equal(await refusal(sql`UPDATE invoicing.document_counters SET last_number = last_number + 2 WHERE series = ${config.INVOICE_NUMBER_PREFIX}`), refused, 'no skipping');
    assert.equal(await refusal(sql`UPDATE invoicing.document_counters SET last_number = last_number - 1 WHERE series = ${config.INVOICE_NUMBER_PREFIX}`), refused, 'no going back');
    // A number drawn and given to no document: refused when the transaction commits.
    assert.equal(await refusal(sql.begin((tx) => tx`UPDATE invoicing.document_counters SET last_number = last_number + 1 WHERE series = ${config.INVOICE_NUMBER_PREFIX}`)), '23000');
    // A document with a number its transaction did not draw.
    const taken = (await invoiceOfOrder(db, order.id))!;
    assert.equal(
      await refusal(
        sql`INSERT INTO invoicing.invoices (id, number, series, year, sequence, order_id, account_id, currency, destination_country, issued_at, seller, total_gross, total_vat, total_net, retain_until)
            VALUES (${randomUUID()}, ${taken.number.replace(/\d+$/, '999999')}, ${taken.series}, ${taken.year}, 999999, ${randomUUID()}, ${randomUUID()}, 'EUR', 'FR', now(), '{}', 0, 0, 0, now())`,
      ),
      '23000',
    );

    const after = (await invoiceOfOrder(db, order.id))!;
    assert.deepEqual(after, taken, 'nothing changed');
    assert.equal((await invoiceLinesOf(db, id)).length, 2);
  });

  test('the sealed buyer may be re-encrypted (key rotation) but not changed otherwise, nor removed before the retention ends', async () => {
    const order = await placeOrder({ BOOK: 1 }, { n: 7 });
    const { invoice } = (await issueInvoiceForOrder(db, config, order.id)) as { invoice: { id: string; buyerEnc: string | null } };
    assert.ok(invoice.buyerEnc);
    assert.ok(!invoice.buyerEnc.includes('Camille'), 'encrypted at rest');
    const context = piiFields.invoiceBuyer.context(invoice.id);
    const reencrypted = encryptPii(config.pii.keyring, JSON.stringify(openBuyer(config, invoice)), context);
    // The very statement the PII key rotation runs.
    assert.equal(await replaceValues(db, piiFields.invoiceBuyer, 'uuid', [{ id: invoice.id, old: invoice.buyerEnc, new: reencrypted }]), 1);
    const rotated = (await invoiceOfOrder(db, order.id))!;
    assert.equal(rotated.buyerEnc, reencrypted);
    assert.deepEqual(openBuyer(config, rotated), { name: address(7).name, line1: address(7).line1, postalCode: '69001', city: 'Lyon', country: 'FR' }, 'the address as invoiced, without the phone');
    assert.equal(await refusal(sql`UPDATE invoicing.invoices SET buyer_enc = NULL WHERE id = ${invoice.id}`), '42501', 'kept until retain_until');
    assert.equal(await refusal(sql`UPDATE invoicing.invoices SET buyer_enc = ${reencrypted}, total_vat = total_vat + 1, total_gross = total_gross + 1 WHERE id = ${invoice.id}`), '42501', 'the buyer, and nothing else with it');
  });
});

describe('credit notes', () => {
  test('a refund with lines and one without: each note is its refund to the cent, together they give back the invoice exactly, per VAT rate', async () => {
    const order = await placeOrder({ TEAPOT: 2, BOOK: 1, PRESS: 3 });
    const { invoice } = (await issueInvoiceForOrder(db, config, order.id)) as { invoice: { id: string; totalGross: number; totalVat: number } };
    const lines = await invoiceLinesOf(db, invoice.id);
    assert.deepEqual([...new Set(lines.map((l) => l.vatRateBp))].sort((a, b) => a - b), [210, 550, 2000], 'three rates (shipping is free above 60 €)');
    const teapot = lines.find((l) => l.sku === sku('TEAPOT'))!;
    const before = await counter(config.CREDIT_NOTE_NUMBER_PREFIX);

    const returned = await issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: 'ret-1', amount: 2990, lines: [{ sku: sku('TEAPOT'), quantity: 1 }], reason: 'returned' });
    assert.equal(returned.status, 'issued');
    const goodwill = await issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: 'gw-1', amount: 777 });
    assert.equal(goodwill.status, 'issued');
    const notes = await creditNotesOfInvoice(db, invoice.id);
    assert.deepEqual(notes.map((n) => [n.refundId, n.totalGross]), [['ret-1', 2990], ['gw-1', 777]]);
    assert.deepEqual(notes[0]!.lines.map((l) => [l.kind, l.sku, l.quantity, l.gross, l.vatRateBp]), [['goods', sku('TEAPOT'), 1, 2990, 2000]]);
    assert.ok(notes[1]!.lines.every((l) => l.kind === 'adjustment'));
    assert.deepEqual(notes[1]!.lines.map((l) => l.vatRateBp), [2000, 550, 210], 'goodwill spread over every rate');
    for (const note of notes) assert.deepEqual(totalsOf(note.lines), { gross: note.totalGross, vat: note.totalVat, net: note.totalNet });
    assert.deepEqual(notes.map((n) => n.sequence), [before + 1, before + 2], 'credit notes have their own gap-free series');

    // The rest, by amount: everything invoiced is now credited, VAT included, rate by rate.
    const left = invoice.totalGross - 2990 - 777;
    assert.equal((await issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: 'rest', amount: left, lines: [{ sku: sku('TEAPOT'), quantity: 1 }] })).status, 'issued');
    const all = (await creditNotesOfInvoice(db, invoice.id)).flatMap((n) => n.lines);
    for (const rate of [210, 550, 2000]) {
      const onInvoice = totalsOf(lines.filter((l) => l.vatRateBp === rate));
      const credited = totalsOf(all.filter((l) => l.vatRateBp === rate));
      assert.deepEqual(credited, onInvoice, `rate ${rate}`);
    }
    assert.equal(all.filter((l) => l.sku === sku('TEAPOT')).reduce((s, l) => s + (l.quantity ?? 0), 0), teapot.quantity);
    await assert.rejects(issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: 'too-much', amount: 1 }), CreditNoteRefused, 'nothing left to credit');
  });

  test('idempotent per refund id, also when asked concurrently; an order without invoice gets none; bad lines are refused before money moves', async () => {
    const order = await placeOrder({ TEAPOT: 3, BOOK: 2 });
    await issueInvoiceForOrder(db, config, order.id);
    const before = await counter(config.CREDIT_NOTE_NUMBER_PREFIX);
    const request = { orderId: order.id, refundId: 'same', amount: 1500, lines: [{ sku: sku('BOOK'), quantity: 1 }] };
    const results = await Promise.all(Array.from({ length: 8 }, () => issueCreditNoteForRefund(db, config, request)));
    assert.equal(results.filter((r) => r.status === 'issued').length, 1);
    assert.equal(results.filter((r) => r.status === 'already_issued').length, 7);
    assert.equal(await counter(config.CREDIT_NOTE_NUMBER_PREFIX), before + 1);
    // Different refunds at once: each its own note and number, drafted one after the other.
    const many = await Promise.all([1, 2, 3, 4].map((n) => issueCreditNoteForRefund(db, config, { orderId: order.id, refundId: `r${n}`, amount: 100 * n })));
    assert.deepEqual(many.map((r) => r.status), ['issued', 'issued', 'issued', 'issued']);
    assert.equal(await counter(config.CREDIT_NOTE_NUMBER_PREFIX), before + 5);

    assert.deepEqual(await issueCreditNoteForRefund(db, config, { orderId: randomUUID(), refundId: 'x', amount: 1 }), { status: 'no_invoice' });
    const fieldOf = async (request: Parameters<typeof checkRefundCreditable>[1]) =>
      checkRefundCreditable(db, request).then(
        () => 'accepted',
        (error: unknown) => (error instanceof CreditNoteRefused ? error.field : String(error)),
      );
    assert.equal(await fieldOf({ orderId: order.id, refundId: 'bad-1', amount: 100, lines: [{ sku: 'NOT-BOUGHT', quantity: 1 }] }), 'lines.0.sku');
    assert.equal(await fieldOf({ orderId: order.id, refundId: 'bad-2', amount: 100, lines: [{ sku: sku('BOOK'), quantity: 2 }] }), 'lines.0.quantity', 'one of the two books is credited already');
    assert.equal(await fieldOf({ orderId: order.id, refundId: 'bad-3', amount: order.priced.totalAmount }), 'amount');
    assert.equal(await fieldOf({ orderId: order.id, refundId: 'same', amount: 1500, lines: [{ sku: sku('BOOK'), quantity: 2 }] }), 'accepted', 'a refund whose note exists is never refused on a retry');
  });
});

describe('the payment activities (real sandbox provider)', () => {
  let psp: SandboxProvider;
  before(async () => {
    psp = await startSandboxProvider({ log: 'error' });
  });
  after(() => psp?.stop());

  test('a retried capture activity issues one invoice; a retried refund activity one credit note; a refund with bad lines moves no money', async () => {
    const providerConfig = { ...config, PAYMENT_PROVIDER_URL: psp.baseUrl, PAYMENT_PROVIDER_API_KEY: psp.apiKey };
    const activities = createPaymentActivities({ db, config: providerConfig, logger: silent, provider: paymentProviderFrom(providerConfig) });
    const order = await placeOrder({ TEAPOT: 2, BOOK: 1 });
    const key = (step: string) => `test-payment-${order.id}:${step}`;
    const amount = order.priced.totalAmount;
    const authorised = await activities.authorisePayment({ orderId: order.id, amount, currency: 'EUR', paymentToken: await psp.tokenise(testCards.success), idempotencyKey: key('authorise') });
    assert.equal(authorised.status, 'authorised');
    const providerPaymentId = (authorised as { providerPaymentId: string }).providerPaymentId;
    const capture = { orderId: order.id, providerPaymentId, amount, currency: 'EUR', idempotencyKey: key('capture') };

    const first = await activities.capturePayment(capture);
    assert.equal(first.posted, true);
    const invoice = (await invoiceOfOrder(db, order.id))!;
    assert.equal(invoice.totalGross, amount);
    const numbers = await counter(config.INVOICE_NUMBER_PREFIX);
    const retried = await activities.capturePayment(capture);
    assert.equal(retried.posted, false);
    assert.equal(await counter(config.INVOICE_NUMBER_PREFIX), numbers, 'the retry drew no number');
    assert.deepEqual(await invoiceOfOrder(db, order.id), invoice, 'the retry issued nothing');

    // A refund whose lines cannot be credited is refused before the provider is called.
    const bad = { orderId: order.id, providerPaymentId, amount: 1999, currency: 'EUR', reason: 'returned', idempotencyKey: `test-payment-${order.id}:refund:bad`, lines: [{ sku: sku('BOOK'), quantity: 5 }] };
    await assert.rejects(activities.refundPayment(bad), (error: unknown) => error instanceof ApplicationFailure && error.type === 'RefundNotCreditable' && error.nonRetryable);
    assert.deepEqual((await psp.paymentsOf(order.id))[0]!.refunds, [], 'no money moved');
    assert.deepEqual((await ledgerOf(db, order.id)).map((e) => e.kind), ['authorised', 'captured']);

    const refund = { orderId: order.id, providerPaymentId, amount: 1999, currency: 'EUR', reason: 'returned', idempotencyKey: `test-payment-${order.id}:refund:ret-1`, lines: [{ sku: sku('BOOK'), quantity: 1 }] };
    assert.equal((await activities.refundPayment(refund)).posted, true);
    const credits = await counter(config.CREDIT_NOTE_NUMBER_PREFIX);
    assert.equal((await activities.refundPayment(refund)).posted, false, 'retried');
    assert.equal(await counter(config.CREDIT_NOTE_NUMBER_PREFIX), credits, 'the retry issued no second credit note');
    const notes = await creditNotesOfInvoice(db, invoice.id);
    assert.deepEqual(notes.map((n) => [n.refundId, n.totalGross, n.reason]), [['ret-1', 1999, 'returned']], 'the refund id comes from the key when the task does not carry it');
    assert.deepEqual(notes[0]!.lines.map((l) => [l.kind, l.sku, l.quantity]), [['goods', sku('BOOK'), 1]]);
    assert.equal((await psp.paymentsOf(order.id))[0]!.refundedAmount, 1999);
  });
});

describe('personal data', () => {
  test('exported with the invoices; an erasure keeps the invoice and its buyer during retention, removes the buyer after it; idempotent', async () => {
    const accountId = randomUUID();
    const order = await placeOrder({ PRESS: 2 }, { accountId, n: 42 });
    await issueInvoiceForOrder(db, config, order.id);
    assert.ok(personalDataDomains.includes(invoicingDomain));

    // The order forgets its address; the invoice keeps the one it was issued with (legal record).
    assert.ok((await ordersDomain.erase(db, config, accountId)) > 0);
    assert.equal(await invoicingDomain.erase(db, config, accountId), 0, 'nothing past retention yet');
    const kept = (await invoiceOfOrder(db, order.id))!;
    assert.equal(openBuyer(config, kept)?.name, address(42).name);
    const exported = (await invoicingDomain.export(db, config, accountId)) as { invoices: { number: string; buyer: { name: string } | null; keptUntil: Date }[] };
    assert.deepEqual(exported.invoices.map((i) => [i.number, i.buyer?.name]), [[kept.number, address(42).name]]);
    assert.equal(exported.invoices[0]!.keptUntil.getUTCFullYear(), kept.issuedAt.getUTCFullYear() + config.INVOICE_RETENTION_YEARS);

    // An invoice from 2014 (numbered in its own series of that year), whose retention ended in 2024.
    const old = randomUUID();
    const series = `O${letters()}`;
    await db.transaction(async (tx) => {
      await tx.insert(documentCounters).values({ series, year: 2014, kind: 'invoice', lastNumber: 1 });
      await tx.insert(invoices).values({
        id: old,
        number: `${series}-2014-000001`,
        series,
        year: 2014,
        sequence: 1,
        orderId: randomUUID(),
        accountId,
        currency: 'EUR',
        destinationCountry: 'FR',
        issuedAt: new Date('2014-03-01T10:00:00Z'),
        seller: { name: 'S', addressLines: [], vatId: 'FR0', country: 'FR' },
        buyerEnc: encryptPii(config.pii.keyring, JSON.stringify({ name: 'Old buyer' }), piiFields.invoiceBuyer.context(old)),
        totalGross: 0,
        totalVat: 0,
        totalNet: 0,
        retainUntil: new Date('2024-03-01T10:00:00Z'),
      });
    });
    assert.equal(await invoicingDomain.erase(db, config, accountId), 1, 'the buyer past retention goes');
    assert.equal(await invoicingDomain.erase(db, config, accountId), 0, 'a second run changes nothing');
    const [erased] = await db.select().from(invoices).where(eq(invoices.id, old));
    assert.equal(erased!.buyerEnc, null);
    assert.equal(erased!.number, `${series}-2014-000001`, 'the financial record stays');
    assert.ok((await invoiceOfOrder(db, order.id))!.buyerEnc, 'the recent one keeps its buyer');
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM invoicing.invoices WHERE account_id = ${accountId}`;
    assert.equal(count!.n, 2);
  });
});

/**
 * The pure arithmetic of invoicing: VAT rates per destination and tax category, the largest-remainder
 * split, invoice lines and credit notes. Every figure is in integer minor units and must add up to the
 * cent; the randomised cases use a fixed seed so a failure replays.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { draftCreditNoteLines, CreditNoteRefused, type CreditedLine, type CreditNoteLineDraft, type InvoicedLine } from '../../invoicing/credit-note-lines';
import { draftInvoiceLines, InvoiceArithmeticError, totalsOf, vatSummary, type InvoiceLineDraft, type OrderForInvoice } from '../../invoicing/invoice-lines';
import { priceCart } from '../../orders/pricing';
import { allocate, includedVat, proportion, shippingVat, taxCategories, vatRate, type TaxCategory } from '../../orders/tax';

/** mulberry32: small, seeded, good enough to pick test cases. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('VAT rates', () => {
  test('per destination and tax category, EU defaults', () => {
    assert.deepEqual(taxCategories.map((c) => vatRate('FR', c)), [2000, 550, 210, 0]);
    assert.deepEqual(taxCategories.map((c) => vatRate('DE', c)), [1900, 700, 700, 0], 'no super-reduced rate in Germany: the reduced one');
    assert.deepEqual(taxCategories.map((c) => vatRate('ES', c)), [2100, 1000, 400, 0]);
    assert.deepEqual(taxCategories.map((c) => vatRate('IT', c)), [2200, 1000, 400, 0]);
    assert.deepEqual(taxCategories.map((c) => vatRate('IE', c)), [2300, 1350, 480, 0]);
    assert.deepEqual(taxCategories.map((c) => vatRate('LU', c)), [1700, 800, 300, 0]);
    assert.equal(vatRate('BE'), 2100);
    assert.equal(vatRate('NL', 'reduced'), 900);
    assert.equal(vatRate('PT'), 2300);
    assert.equal(vatRate('AT', 'reduced'), 1000);
    for (const country of ['FR', 'DE', 'BE', 'ES', 'IT', 'NL', 'PT', 'IE', 'AT', 'LU']) {
      const [standard, reduced, superReduced] = [vatRate(country), vatRate(country, 'reduced'), vatRate(country, 'super_reduced')];
      assert.ok(standard >= 1700 && standard <= 2700, `${country} standard ${standard}`);
      assert.ok(standard >= reduced && reduced >= superReduced && superReduced > 0, `${country}: ${standard} ≥ ${reduced} ≥ ${superReduced} > 0`);
    }
    for (const category of taxCategories) {
      assert.equal(vatRate('US', category), 0, 'exports outside the EU carry no VAT');
      assert.equal(vatRate('CH', category), 0);
    }
    assert.equal(vatRate(undefined, 'reduced'), 550, 'no destination yet: the home country');
    assert.equal(vatRate('MC'), 2000, 'Monaco is in the French VAT territory');
  });
});

describe('allocate (largest remainder)', () => {
  test('parts add up exactly; leftover cents go to the largest remainders, the earlier on a tie', () => {
    assert.deepEqual(allocate(100, [1, 1, 1]), [34, 33, 33]);
    assert.deepEqual(allocate(10, [1, 2, 3, 4]), [1, 2, 3, 4]);
    assert.deepEqual(allocate(5, [3, 3]), [3, 2]);
    assert.deepEqual(allocate(7, [0, 5, 0, 5]), [0, 4, 0, 3]);
    assert.deepEqual(allocate(0, [0, 0]), [0, 0]);
    assert.deepEqual(allocate(2, [333, 333, 334]), [1, 0, 1], 'remainders .666, .666, .668 → the largest first, then the earlier');
    assert.throws(() => allocate(1, [0, 0]), RangeError);
    assert.throws(() => allocate(-1, [1]), RangeError);
    assert.throws(() => allocate(1.5, [1]), RangeError);
  });

  test('large amounts do not lose precision (amount × weight above 2^53)', () => {
    const parts = allocate(9_000_000_000_000, [4_000_000_000_001, 5_000_000_000_003]);
    assert.equal(sum(parts), 9_000_000_000_000);
    assert.deepEqual(parts, [3_999_999_999_999, 5_000_000_000_001]);
  });

  test('randomised: exact sum, each part within a cent of its exact share, never above its weight when the total fits', () => {
    const rng = random(7);
    for (let round = 0; round < 2000; round++) {
      const weights = Array.from({ length: rng.int(1, 8) }, () => (rng.next() < 0.2 ? 0 : rng.int(0, 100_000)));
      if (sum(weights) === 0) weights[0] = 1;
      const total = rng.int(0, sum(weights));
      const parts = allocate(total, weights);
      assert.equal(sum(parts), total);
      parts.forEach((part, i) => {
        const exact = (total * weights[i]!) / sum(weights);
        assert.ok(part >= Math.floor(exact) && part <= Math.ceil(exact), `part ${part} vs exact ${exact}`);
        assert.ok(part <= weights[i]!);
      });
      assert.deepEqual(allocate(total, weights), parts, 'deterministic');
    }
  });

  test('proportion rounds half up in integers', () => {
    assert.equal(proportion(100, 1, 3), 33);
    assert.equal(proportion(100, 2, 3), 67);
    assert.equal(proportion(5, 1, 2), 3);
    assert.equal(proportion(0, 5, 7), 0);
  });
});

const order = (lines: { sku: string; quantity: number; unit: number; category?: TaxCategory }[], extra: Partial<OrderForInvoice> = {}): OrderForInvoice => {
  const subtotal = sum(lines.map((l) => l.unit * l.quantity));
  const shippingAmount = extra.shippingAmount ?? 490;
  const discountAmount = extra.discountAmount ?? 0;
  return {
    destinationCountry: 'FR',
    shippingMethod: 'standard',
    shippingAmount,
    discountAmount,
    totalAmount: subtotal + shippingAmount - discountAmount,
    lines: lines.map((l) => ({ sku: l.sku, title: `Item ${l.sku}`, quantity: l.quantity, unitAmount: l.unit, lineAmount: l.unit * l.quantity, taxCategory: l.category ?? 'standard' })),
    ...extra,
  };
};

function assertLinesAddUp(lines: readonly { gross: number; vat: number; net: number }[]) {
  for (const line of lines) {
    assert.equal(line.gross, line.net + line.vat);
    assert.ok(line.vat >= 0 && line.net >= 0);
  }
}

describe('invoice lines', () => {
  test('one rate: VAT per line as the cart computed it; shipping is a line; totals add up to the order', () => {
    const lines = draftInvoiceLines(order([{ sku: 'MUG', quantity: 2, unit: 1500 }, { sku: 'CUP', quantity: 1, unit: 850 }]));
    assert.deepEqual(
      lines.map((l) => [l.position, l.kind, l.sku, l.quantity, l.vatRateBp, l.gross, l.vat, l.net]),
      [
        [1, 'goods', 'CUP', 1, 2000, 850, 142, 708],
        [2, 'goods', 'MUG', 2, 2000, 3000, 500, 2500],
        [3, 'shipping', null, 1, 2000, 490, 82, 408],
      ],
    );
    assert.deepEqual(totalsOf(lines), { gross: 4340, vat: 724, net: 3616 });
    assert.deepEqual(vatSummary(lines), [{ vatRateBp: 2000, gross: 4340, vat: 724, net: 3616 }]);
  });

  test('mixed rates: shipping is split across the goods rates in proportion to their value; summary per rate', () => {
    const lines = draftInvoiceLines(order([{ sku: 'BOOK', quantity: 1, unit: 2000, category: 'reduced' }, { sku: 'TEAPOT', quantity: 1, unit: 6000 }, { sku: 'PRESS', quantity: 3, unit: 333, category: 'super_reduced' }], { shippingAmount: 1290 }));
    assertLinesAddUp(lines);
    const shipping = lines.filter((l) => l.kind === 'shipping');
    assert.deepEqual(shipping.map((l) => [l.vatRateBp, l.gross]), [[2000, 860], [550, 287], [210, 143]], '1290 split 6000 : 2000 : 999 (860.09, 286.70, 143.21: the spare cent to .70)');
    assert.equal(sum(shipping.map((l) => l.gross)), 1290);
    assert.deepEqual(shipping.map((l) => l.vat), [includedVat(860, 2000), includedVat(287, 550), includedVat(143, 210)]);
    const summary = vatSummary(lines);
    assert.deepEqual(summary.map((r) => r.vatRateBp), [2000, 550, 210]);
    assert.deepEqual(summary.map((r) => r.gross), [6860, 2287, 1142]);
    assert.equal(sum(summary.map((r) => r.gross)), 2000 + 6000 + 999 + 1290);
    assert.deepEqual(totalsOf(summary), totalsOf(lines));
  });

  test('a discount is spread over the goods to the cent; exports carry no VAT; figures that do not add up are refused', () => {
    const discounted = draftInvoiceLines(order([{ sku: 'A', quantity: 1, unit: 1000 }, { sku: 'B', quantity: 1, unit: 1000 }, { sku: 'C', quantity: 1, unit: 1000 }], { discountAmount: 100 }));
    assert.deepEqual(discounted.filter((l) => l.kind === 'goods').map((l) => [l.discount, l.gross]), [[34, 966], [33, 967], [33, 967]]);
    assert.equal(totalsOf(discounted).gross, 3000 - 100 + 490);
    const exported = draftInvoiceLines(order([{ sku: 'A', quantity: 2, unit: 1000 }], { destinationCountry: 'US' }));
    assert.deepEqual(exported.map((l) => [l.vatRateBp, l.vat, l.net]), [[0, 0, 2000], [0, 0, 490]]);
    assert.throws(() => draftInvoiceLines({ ...order([{ sku: 'A', quantity: 1, unit: 1000 }]), totalAmount: 1489 }), InvoiceArithmeticError);
    assert.throws(() => draftInvoiceLines(order([{ sku: 'A', quantity: 1, unit: 1000 }], { discountAmount: 1001 })), InvoiceArithmeticError);
    assert.deepEqual(draftInvoiceLines(order([{ sku: 'A', quantity: 1, unit: 1000 }], { shippingAmount: 0 })).map((l) => l.kind), ['goods'], 'free shipping: no line');
  });

  test('randomised: the invoice says what the cart said (same VAT per line and in total) and adds up', () => {
    const rng = random(42);
    for (let round = 0; round < 300; round++) {
      const country = rng.pick(['FR', 'DE', 'BE', 'ES', 'IT', 'NL', 'PT', 'IE', 'AT', 'LU', 'US', 'GB']);
      const skus = Array.from({ length: rng.int(1, 6) }, (_, i) => `SKU-${i}`);
      const variants = new Map(skus.map((sku) => [sku, { sku, title: sku, slug: sku.toLowerCase(), published: true, amount: rng.int(1, 50_000), weightGrams: null, taxCategory: rng.pick(taxCategories) }]));
      const cartLines = skus.map((sku) => ({ sku, quantity: rng.int(1, 5) }));
      const priced = priceCart({ currency: 'EUR', lines: cartLines, variants, availability: new Map(skus.map((s) => [s, 99])), shipping: { method: rng.pick(['standard', 'express'] as const), country } });
      const lines = draftInvoiceLines({
        destinationCountry: country,
        shippingMethod: 'standard',
        shippingAmount: priced.shippingAmount,
        discountAmount: 0,
        totalAmount: priced.totalAmount,
        lines: priced.lines.map((l) => ({ ...l, taxCategory: variants.get(l.sku)!.taxCategory })),
      });
      assertLinesAddUp(lines);
      const totals = totalsOf(lines);
      assert.equal(totals.gross, priced.totalAmount);
      assert.equal(totals.vat, priced.taxAmount, 'the invoice VAT is the VAT the shopper was shown');
      assert.deepEqual(lines.filter((l) => l.kind === 'goods').map((l) => l.vat), priced.lines.map((l) => l.taxAmount));
      assert.deepEqual(totalsOf(vatSummary(lines)), totals);
    }
  });
});

const invoiced = (lines: InvoiceLineDraft[]): InvoicedLine[] => lines.map(({ position, kind, sku, description, quantity, vatRateBp, gross, vat }) => ({ position, kind, sku, description, quantity, vatRateBp, gross, vat }));
const asCredited = (notes: CreditNoteLineDraft[][]): CreditedLine[] => notes.flat().map(({ kind, invoiceLinePosition, quantity, vatRateBp, gross, vat }) => ({ kind, invoiceLinePosition, quantity, vatRateBp, gross, vat }));

function perRate(lines: readonly { vatRateBp: number; gross: number; vat: number }[]) {
  const rates = new Map<number, { gross: number; vat: number }>();
  for (const line of lines) {
    const entry = rates.get(line.vatRateBp) ?? { gross: 0, vat: 0 };
    rates.set(line.vatRateBp, { gross: entry.gross + line.gross, vat: entry.vat + line.vat });
  }
  return rates;
}

describe('credit notes', () => {
  const mixed = () =>
    invoiced(
      draftInvoiceLines(order([{ sku: 'BOOK', quantity: 2, unit: 1999, category: 'reduced' }, { sku: 'TEAPOT', quantity: 3, unit: 2990 }], { discountAmount: 1, shippingAmount: 490 })),
    );

  test('by lines: units at their invoiced value; crediting every unit in several notes gives back each line exactly', () => {
    const invoice = mixed();
    const teapot = invoice.find((l) => l.sku === 'TEAPOT')!;
    // The one-cent discount went to the teapots (8969 for 3): the first unit is worth 2989, the last two 5980.
    assert.equal(teapot.gross, 8969);
    const first = draftCreditNoteLines(invoice, [], { amount: 2989, lines: [{ sku: 'TEAPOT', quantity: 1 }] }, { strict: true });
    assert.deepEqual(first.map((l) => [l.kind, l.sku, l.quantity, l.gross]), [['goods', 'TEAPOT', 1, 2989]]);
    const overpaid = draftCreditNoteLines(invoice, [], { amount: 2990, lines: [{ sku: 'TEAPOT', quantity: 1 }] }, { strict: true });
    assert.deepEqual(overpaid.map((l) => [l.kind, l.gross]), [['goods', 2989], ['adjustment', 1]], 'a cent more than the unit is credited by rate');
    const unitsLeft = teapot.gross - 2989;
    assert.equal(unitsLeft, 5980);
    const second = draftCreditNoteLines(invoice, asCredited([first]), { amount: unitsLeft, lines: [{ sku: 'TEAPOT', quantity: 2 }] }, { strict: true });
    assert.deepEqual(second.map((l) => [l.sku, l.quantity, l.gross]), [['TEAPOT', 2, unitsLeft]]);
    const credited = perRate([...first, ...second]).get(2000)!;
    const teapotShipping = invoice.filter((l) => l.vatRateBp === 2000 && l.kind === 'shipping');
    assert.equal(credited.gross, teapot.gross);
    assert.ok(credited.vat <= teapot.vat + sum(teapotShipping.map((l) => l.vat)));
    assertLinesAddUp([...first, ...second]);
  });

  test('without lines: the amount is split across the VAT rates pro rata, and adds up to the cent', () => {
    const invoice = mixed();
    const note = draftCreditNoteLines(invoice, [], { amount: 1001 }, { strict: true });
    assert.ok(note.every((l) => l.kind === 'adjustment'));
    assert.equal(sum(note.map((l) => l.gross)), 1001);
    const rates = perRate(invoice);
    const total = sum([...rates.values()].map((r) => r.gross));
    for (const line of note) {
      const exact = (1001 * rates.get(line.vatRateBp)!.gross) / total;
      assert.ok(Math.abs(line.gross - exact) < 1, `${line.gross} vs ${exact}`);
      assert.equal(line.vat, proportion(rates.get(line.vatRateBp)!.vat, line.gross, rates.get(line.vatRateBp)!.gross));
    }
    assertLinesAddUp(note);
  });

  test('lines with more money than their value (shipping back too), or less (a partial refund of a return)', () => {
    const invoice = mixed();
    const book = invoice.find((l) => l.sku === 'BOOK')!;
    const withShipping = draftCreditNoteLines(invoice, [], { amount: 1999 + 490, lines: [{ sku: 'BOOK', quantity: 1 }] }, { strict: true });
    assert.deepEqual(withShipping.map((l) => [l.kind, l.gross]).slice(0, 1), [['goods', Math.floor(book.gross / 2)]]);
    assert.equal(sum(withShipping.map((l) => l.gross)), 1999 + 490);
    assert.ok(withShipping.slice(1).every((l) => l.kind === 'adjustment'));
    const partial = draftCreditNoteLines(invoice, [], { amount: 1000, lines: [{ sku: 'BOOK', quantity: 1 }, { sku: 'TEAPOT', quantity: 1 }] }, { strict: true });
    assert.deepEqual(partial.map((l) => [l.kind, l.sku, l.quantity]), [['goods', 'BOOK', 1], ['goods', 'TEAPOT', 1]]);
    assert.equal(sum(partial.map((l) => l.gross)), 1000);
    assert.deepEqual(partial.map((l) => l.gross), allocate(1000, [Math.floor(book.gross / 2), 2990]));
  });

  test('never beyond a rate: units whose rate a goodwill refund used up are credited at the other rates', () => {
    const invoice = invoiced(draftInvoiceLines(order([{ sku: 'BOOK', quantity: 1, unit: 1000, category: 'reduced' }, { sku: 'TEAPOT', quantity: 1, unit: 1000 }], { shippingAmount: 0 })));
    const goodwill = draftCreditNoteLines(invoice, [], { amount: 1000 }, { strict: true });
    assert.deepEqual(goodwill.map((l) => [l.vatRateBp, l.gross]), [[2000, 500], [550, 500]]);
    const back = draftCreditNoteLines(invoice, asCredited([goodwill]), { amount: 1000, lines: [{ sku: 'TEAPOT', quantity: 1 }] }, { strict: true });
    assert.deepEqual(back.map((l) => [l.kind, l.vatRateBp, l.gross]), [['goods', 2000, 500], ['adjustment', 550, 500]]);
    const rates = perRate([...goodwill, ...back]);
    const invoicedRates = perRate(invoice);
    for (const [rate, credited] of rates) assert.deepEqual(credited, invoicedRates.get(rate), `everything at ${rate} credited, VAT included, exactly`);
  });

  test('strict refuses what cannot be credited, naming the field; lenient caps and still credits the amount', () => {
    const invoice = mixed();
    const refused = (request: Parameters<typeof draftCreditNoteLines>[2], credited: CreditedLine[] = []) => {
      try {
        draftCreditNoteLines(invoice, credited, request, { strict: true });
      } catch (error) {
        assert.ok(error instanceof CreditNoteRefused);
        return error.field;
      }
      assert.fail('not refused');
    };
    assert.equal(refused({ amount: 100, lines: [{ sku: 'NOPE', quantity: 1 }] }), 'lines.0.sku');
    assert.equal(refused({ amount: 100, lines: [{ sku: 'BOOK', quantity: 3 }] }), 'lines.0.quantity');
    assert.equal(refused({ amount: 100, lines: [{ sku: 'BOOK', quantity: 1 }, { sku: 'BOOK', quantity: 1 }] }), 'lines.1.sku');
    assert.equal(refused({ amount: 100, lines: [{ sku: 'BOOK', quantity: 0 }] }), 'lines.0.quantity');
    assert.equal(refused({ amount: 0 }), 'amount');
    const total = sum(invoice.map((l) => l.gross));
    assert.equal(refused({ amount: total + 1 }), 'amount');
    const returned = draftCreditNoteLines(invoice, [], { amount: 1999 * 2 - 1, lines: [{ sku: 'BOOK', quantity: 2 }] }, { strict: true });
    assert.equal(refused({ amount: 100, lines: [{ sku: 'BOOK', quantity: 1 }] }, asCredited([returned])), 'lines.0.quantity', 'both books were credited already');
    const lenient = draftCreditNoteLines(invoice, asCredited([returned]), { amount: 100, lines: [{ sku: 'BOOK', quantity: 1 }, { sku: 'NOPE', quantity: 1 }] }, { strict: false });
    assert.equal(sum(lenient.map((l) => l.gross)), 100);
    assert.ok(lenient.every((l) => l.kind === 'adjustment'), 'nothing left of the book: the money is credited by rate');
    assert.throws(() => draftCreditNoteLines(invoice, [], { amount: total + 1 }, { strict: false }), CreditNoteRefused, 'no credit note above the invoice, ever');
  });

  test('randomised: refunds of all kinds until nothing is left — each note equals its refund, no rate ever over-credited, and the invoice is given back exactly, VAT included', () => {
    const rng = random(2026);
    for (let round = 0; round < 300; round++) {
      const skus = Array.from({ length: rng.int(1, 4) }, (_, i) => `S${i}`);
      const draft = order(skus.map((sku) => ({ sku, quantity: rng.int(1, 4), unit: rng.int(1, 9999), category: rng.pick(taxCategories) })), {
        destinationCountry: rng.pick(['FR', 'DE', 'ES', 'IE', 'US']),
        shippingAmount: rng.pick([0, 490, 1290]),
      });
      const subtotal = sum(draft.lines.map((l) => l.lineAmount));
      draft.discountAmount = rng.next() < 0.3 ? rng.int(0, subtotal) : 0;
      draft.totalAmount = subtotal + draft.shippingAmount - draft.discountAmount;
      const invoice = invoiced(draftInvoiceLines(draft));
      const total = sum(invoice.map((l) => l.gross));
      if (total === 0) continue;
      const notes: CreditNoteLineDraft[][] = [];
      let left = total;
      while (left > 0) {
        const amount = rng.next() < 0.3 ? left : rng.int(1, left);
        const lines = rng.next() < 0.5 ? skus.filter(() => rng.next() < 0.5).map((sku) => ({ sku, quantity: rng.int(1, 2) })) : undefined;
        const note = draftCreditNoteLines(invoice, asCredited(notes), { amount, ...(lines ? { lines } : {}) }, { strict: false });
        assert.equal(sum(note.map((l) => l.gross)), amount, 'a credit note is its refund, to the cent');
        assertLinesAddUp(note);
        notes.push(note);
        left -= amount;
        const credited = perRate(notes.flat());
        for (const [rate, entry] of credited) {
          const onInvoice = perRate(invoice).get(rate)!;
          assert.ok(entry.gross <= onInvoice.gross && entry.vat <= onInvoice.vat, `rate ${rate} over-credited`);
        }
      }
      assert.deepEqual([...perRate(notes.flat())].sort(), [...perRate(invoice)].filter(([, e]) => e.gross > 0).sort(), 'fully refunded: every rate given back exactly');
    }
  });
});

test('shipping with no goods of value carries the standard rate', () => {
  assert.deepEqual(shippingVat('DE', 490, []), [{ rateBasisPoints: 1900, grossAmount: 490, vatAmount: 78 }]);
  assert.deepEqual(shippingVat('FR', 0, [{ grossAmount: 100, rateBasisPoints: 550 }]), []);
});

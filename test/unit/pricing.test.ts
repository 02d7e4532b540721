import assert from 'node:assert/strict';
import { test } from 'node:test';
import { priceCart } from '../../orders/pricing';
import { includedVat, vatRate } from '../../orders/tax';

test('VAT included in a gross amount, rounded half up, in integers', () => {
  assert.equal(includedVat(1200, 2000), 200);
  assert.equal(includedVat(850, 2000), 142); // 141.67
  assert.equal(includedVat(6, 2000), 1); // 1.0 exactly
  assert.equal(includedVat(3, 2000), 1); // 0.5 → up
  assert.equal(includedVat(2, 2000), 0); // 0.33
  assert.equal(includedVat(999_999_99, 0), 0);
  assert.equal(vatRate('FR'), 2000);
  assert.equal(vatRate('US'), 0);
  assert.equal(vatRate(undefined), 2000);
});

test('a cart with a line problem is not purchasable, and the problem line adds nothing', () => {
  const variants = new Map([
    ['A', { sku: 'A', title: 'A', slug: 'a', published: true, amount: 1000, weightGrams: null }],
    ['B', { sku: 'B', title: 'B', slug: 'b', published: false, amount: 500, weightGrams: null }],
  ]);
  const priced = priceCart({ currency: 'EUR', lines: [{ sku: 'B', quantity: 1 }, { sku: 'A', quantity: 2 }], variants, availability: new Map([['A', 5], ['B', 5]]) });
  assert.deepEqual(priced.lines.map((line) => [line.sku, line.lineAmount, line.problem]), [['A', 2000, undefined], ['B', 0, 'not_for_sale']]);
  assert.equal(priced.subtotalAmount, 2000);
  assert.equal(priced.purchasable, false);
  const empty = priceCart({ currency: 'EUR', lines: [], variants, availability: new Map() });
  assert.equal(empty.purchasable, false);
  const noShippingInCurrency = priceCart({ currency: 'JPY', lines: [{ sku: 'A', quantity: 1 }], variants, availability: new Map([['A', 5]]), shipping: { method: 'standard', country: 'FR' } });
  assert.equal(noShippingInCurrency.purchasable, false, 'no standard rate in JPY');
});

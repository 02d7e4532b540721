import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCategoryPath, slugify, validateImportRow } from '../../activities/catalog/importRow';

const valid = {
  slug: 'theiere-fonte',
  title: 'Théière en fonte',
  categories: ['Maison > Cuisine'],
  variants: [{ sku: 'THE-1L', title: '1 L', prices: [{ currency: 'EUR', amount: 4990, compareAtAmount: 5990 }], stock: [{ location: 'paris-1', onHand: 3 }] }],
};

test('a valid row gets its defaults', () => {
  const result = validateImportRow(valid);
  assert.ok(result.ok);
  assert.equal(result.product.status, 'published');
  assert.equal(result.product.description, '');
  assert.deepEqual(result.product.attributes, {});
  assert.deepEqual(result.product.variants[0]!.options, {});
});

test('each bad value is reported with its path', () => {
  const cases: [unknown, string[]][] = [
    [{ ...valid, slug: 'Not A Slug' }, ['slug']],
    [{ ...valid, colour: 'red' }, ['colour']],
    [{ ...valid, variants: [] }, ['variants']],
    [{ ...valid, variants: [{ ...valid.variants[0], prices: [{ currency: 'eur', amount: 10 }] }] }, ['variants.0.prices.0.currency']],
    [{ ...valid, variants: [{ ...valid.variants[0], prices: [{ currency: 'EUR', amount: 19.99 }] }] }, ['variants.0.prices.0.amount']],
    [{ ...valid, variants: [{ ...valid.variants[0], prices: [{ currency: 'EUR', amount: 100, compareAtAmount: 90 }] }] }, ['variants.0.prices.0.compareAtAmount']],
    [{ ...valid, variants: [{ ...valid.variants[0], stock: [{ location: 'paris-1', onHand: -1 }] }] }, ['variants.0.stock.0.onHand']],
    [{ ...valid, variants: [valid.variants[0], valid.variants[0]] }, ['variants']],
    ['just a string', ['(row)']],
  ];
  for (const [row, fields] of cases) {
    const result = validateImportRow(row);
    assert.equal(result.ok, false, JSON.stringify(row));
    assert.deepEqual(!result.ok && result.errors.map((e) => e.field), fields, JSON.stringify(row));
  }
});

test('slugs drop accents and punctuation', () => {
  assert.equal(slugify('Épicerie fine'), 'epicerie-fine');
  assert.equal(slugify("  L'Été  à Paris! "), 'lete-a-paris');
  assert.equal(slugify('High-Tech'), 'high-tech');
});

test('a category path becomes its chain of nodes from the root', () => {
  assert.deepEqual(parseCategoryPath('Sport > Chaussures > Running'), [
    { name: 'Sport', slug: 'sport', parentPath: null, path: 'sport' },
    { name: 'Chaussures', slug: 'chaussures', parentPath: 'sport', path: 'sport/chaussures' },
    { name: 'Running', slug: 'running', parentPath: 'sport/chaussures', path: 'sport/chaussures/running' },
  ]);
  assert.deepEqual(parseCategoryPath(' > '), []);
});

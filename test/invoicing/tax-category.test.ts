/**
 * The catalog's tax category, which picks the VAT rate an order and its invoice use: set and changed by
 * admins, given by import feeds, `standard` when nobody says, and kept by a feed that does not mention it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { validateImportRow } from '../../activities/catalog/importRow';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { upsertProduct, variantsForSale, type ProductDraft } from '../../db/catalog';
import { products } from '../../db/schema/catalog';
import { priceCart } from '../../orders/pricing';
import { fields } from '../support/http';
import { adminHeaders } from '../support/identity';
import { testConfig } from '../support/stack';

const config = testConfig('tax-category');
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

const run = randomUUID().slice(0, 8);
type Product = { id: string; taxCategory: string };

async function call(method: string, path: string, body?: unknown, ifMatch?: string) {
  const headers: Record<string, string> = { ...(await adminHeaders(config)), ...(ifMatch ? { 'if-match': ifMatch } : {}) };
  return app.request(`http://local${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

describe('tax category', () => {
  test('admins create with one (standard when left out), change it with If-Match; an unknown one is a 422 naming the field', async () => {
    const plain = await call('POST', '/v1/admin/products', { slug: `tc-plain-${run}`, title: 'Plain' });
    assert.equal(plain.status, 201);
    assert.equal(((await plain.json()) as Product).taxCategory, 'standard');
    const book = await call('POST', '/v1/admin/products', { slug: `tc-book-${run}`, title: 'Book', taxCategory: 'reduced' });
    assert.equal(book.status, 201);
    const created = (await book.json()) as Product;
    assert.equal(created.taxCategory, 'reduced');
    const changed = await call('PATCH', `/v1/admin/products/${created.id}`, { taxCategory: 'super_reduced' }, book.headers.get('etag')!);
    assert.equal(changed.status, 200);
    assert.equal(((await changed.json()) as Product).taxCategory, 'super_reduced');
    const bad = await call('POST', '/v1/admin/products', { slug: `tc-bad-${run}`, title: 'Bad', taxCategory: 'luxury' });
    assert.equal(bad.status, 422);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(fields((await bad.json()) as { errors: { in: string; field: string; message: string }[] }), ['taxCategory']);
  });

  test('imports: validated, stored, and a feed without the field leaves the category (and updated_at) alone', async () => {
    const row = { slug: `tc-import-${run}`, title: 'Imported book', taxCategory: 'reduced', variants: [{ sku: `TC-${run.toUpperCase()}`, title: 'Book', prices: [{ currency: 'EUR', amount: 1000 }] }] };
    const invalid = validateImportRow({ ...row, taxCategory: 'books' });
    assert.equal(invalid.ok, false);
    assert.deepEqual(!invalid.ok && invalid.errors.map((e) => e.field), ['taxCategory']);
    const valid = validateImportRow(row);
    assert.ok(valid.ok);
    const draft: ProductDraft = { ...valid.product, categories: [] };
    await deps.db.transaction((tx) => upsertProduct(tx, draft));
    const [stored] = await deps.db.select().from(products).where(eq(products.slug, row.slug));
    assert.equal(stored!.taxCategory, 'reduced');

    const { taxCategory: _omitted, ...withoutCategory } = draft;
    await deps.db.transaction((tx) => upsertProduct(tx, withoutCategory));
    const [again] = await deps.db.select().from(products).where(eq(products.slug, row.slug));
    assert.equal(again!.taxCategory, 'reduced', 'kept');
    assert.equal(again!.updatedAt.getTime(), stored!.updatedAt.getTime(), 'nothing changed, not even updated_at');
    await deps.db.transaction((tx) => upsertProduct(tx, { ...draft, taxCategory: 'zero' }));
    const [zero] = await deps.db.select().from(products).where(eq(products.slug, row.slug));
    assert.equal(zero!.taxCategory, 'zero');

    // The cart prices it at the destination's rate for that category.
    const variants = await variantsForSale(deps.db, [row.variants[0]!.sku], 'EUR');
    await deps.db.transaction((tx) => upsertProduct(tx, { ...draft, taxCategory: 'reduced' }));
    const reduced = await variantsForSale(deps.db, [row.variants[0]!.sku], 'EUR');
    const price = (v: typeof variants) => priceCart({ currency: 'EUR', lines: [{ sku: row.variants[0]!.sku, quantity: 1 }], variants: v, availability: new Map([[row.variants[0]!.sku, 1]]), shipping: { method: 'pickup', country: 'DE' } });
    assert.equal(price(variants).taxAmount, 0, 'zero-rated');
    assert.equal(price(reduced).taxAmount, 65, '7 % included in 10.00 € (65.42)');
  });
});

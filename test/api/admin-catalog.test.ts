import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { testConfig } from '../support/stack';
import { adminHeaders } from '../support/identity';

type Problem = { type: string; status: number; detail?: string; errors?: { in: string; field: string; message: string }[] };
type Product = {
  id: string;
  slug: string;
  status: string;
  title: string;
  categories: { id: string; path: string }[];
  variants: { id: string; sku: string; prices: { currency: string; amount: number; compareAtAmount: number | null }[] }[];
  media: { id: string; url: string; key: string; alt: string; position: number; contentType: string; bytes: number }[];
};
type Category = { id: string; path: string; slug: string; name: string; parentId: string | null };

const config = testConfig('admin-catalog', {
  MEDIA_MAX_BYTES: '4096',
  MEDIA_DIR: join(process.env.COMPTOIR_TEST_RUN_DIR ?? tmpdir(), `media-admin-${process.pid}`),
});
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

const base = 'http://local';
const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function call(method: string, path: string, options: { body?: unknown; ifMatch?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(await adminHeaders(config)), ...options.headers };
  if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
  return app.request(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
}

async function ok<T>(response: Response, status = 200): Promise<{ body: T; etag: string }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const etag = response.headers.get('etag') ?? '';
  return { body: (text ? JSON.parse(text) : undefined) as T, etag };
}

async function problem(response: Response, status: number): Promise<Problem> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  return JSON.parse(text) as Problem;
}

const fields = (p: Problem) => p.errors?.map((e) => e.field);

/** The outbox events about one product or category, oldest first. */
async function events(aggregateId: string) {
  const rows = await deps.sql<{ event_type: string; payload: Record<string, string> }[]>`
    SELECT event_type, payload FROM catalog.outbox WHERE aggregate_id = ${aggregateId} ORDER BY id`;
  return rows.map(({ event_type, payload }) => ({ event_type, payload }));
}
const eventCount = async (aggregateId: string) => (await events(aggregateId)).length;

async function createProduct(overrides: Record<string, unknown> = {}) {
  const slug = unique('lampe');
  return ok<Product>(await call('POST', '/v1/admin/products', { body: { slug, title: 'Lampe de bureau', ...overrides } }), 201);
}

describe('admin products: CRUD with ETags and outbox events', () => {
  test('create → 201 draft with ETag and Location; GET returns the same ETag; one product.changed recorded', async () => {
    const response = await call('POST', '/v1/admin/products', { body: { slug: unique('theiere'), title: 'Théière', brand: 'Fonte & Co', attributes: { matiere: 'fonte' } } });
    const { body, etag } = await ok<Product>(response, 201);
    assert.equal(body.status, 'draft');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.equal(response.headers.get('location'), `/v1/admin/products/${body.id}`);
    const read = await ok<Product>(await call('GET', `/v1/admin/products/${body.id}`));
    assert.equal(read.etag, etag);
    assert.deepEqual(await events(body.id), [{ event_type: 'product.changed', payload: { slug: body.slug } }]);
    assert.equal((await app.request(`${base}/v1/products/${body.slug}`)).status, 404, 'a draft is not in the shop');
  });

  test('publish shows the product in the shop, unpublish makes it a draft again; each records product.changed', async () => {
    const { body } = await createProduct();
    const published = await ok<Product>(await call('POST', `/v1/admin/products/${body.id}/publish`));
    assert.equal(published.body.status, 'published');
    assert.equal((await app.request(`${base}/v1/products/${body.slug}`)).status, 200);
    const unpublished = await ok<Product>(await call('POST', `/v1/admin/products/${body.id}/unpublish`));
    assert.equal(unpublished.body.status, 'draft');
    // The shop's read cache forgets the product when the sync worker drains this event (not running here).
    assert.deepEqual((await events(body.id)).map((e) => e.event_type), ['product.changed', 'product.changed', 'product.changed']);
    await problem(await call('POST', `/v1/admin/products/${body.id}/publish`, { ifMatch: '"stale"' }), 412);
  });

  test('PATCH needs If-Match: missing → 428, stale → 412, current → 200 with a new ETag', async () => {
    const { body, etag } = await createProduct();
    const missing = await problem(await call('PATCH', `/v1/admin/products/${body.id}`, { body: { title: 'Autre' } }), 428);
    assert.deepEqual(missing.errors?.map((e) => [e.in, e.field]), [['header', 'if-match']]);
    assert.equal(missing.type, 'https://comptoir.dev/problems/precondition-required');

    const newSlug = unique('lampe-renommee');
    const changed = await ok<Product>(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: etag, body: { title: 'Lampe articulée', slug: newSlug } }));
    assert.equal(changed.body.title, 'Lampe articulée');
    assert.notEqual(changed.etag, etag);
    assert.deepEqual((await events(body.id)).at(-1), { event_type: 'product.changed', payload: { slug: newSlug, previousSlug: body.slug } });

    const before = await eventCount(body.id);
    const stale = await problem(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: etag, body: { title: 'Perdu' } }), 412);
    assert.deepEqual(fields(stale), ['if-match']);
    assert.equal(await eventCount(body.id), before, 'a refused write records nothing');
    assert.equal((await ok<Product>(await call('GET', `/v1/admin/products/${body.id}`))).body.title, 'Lampe articulée');
    await problem(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: `W/${changed.etag}`, body: { title: 'Faible' } }), 412);
    await ok(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: `"nope", ${changed.etag}`, body: { title: 'Liste' } }));
  });

  test('two PATCHes with the same ETag at once: exactly one wins, the other gets 412', async () => {
    const { body, etag } = await createProduct();
    const before = await eventCount(body.id);
    const responses = await Promise.all(
      ['Première', 'Seconde', 'Troisième'].map((title) => call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: etag, body: { title } })),
    );
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 412, 412]);
    const winner = responses.find((r) => r.status === 200)!;
    const winnerTitle = ((await winner.json()) as Product).title;
    assert.equal((await ok<Product>(await call('GET', `/v1/admin/products/${body.id}`))).body.title, winnerTitle);
    assert.equal(await eventCount(body.id), before + 1, 'one write, one event');
  });

  test('validation names the bad fields (422), unknown fields included; ids that are not uuids → 400', async () => {
    const bad = await problem(await call('POST', '/v1/admin/products', { body: { slug: 'Pas Un Slug', title: '', colour: 'rouge' } }), 422);
    assert.deepEqual(fields(bad)?.sort(), ['colour', 'slug', 'title']);
    assert.equal(bad.errors?.find((e) => e.field === 'colour')?.message, 'unknown field');
    const { body, etag } = await createProduct();
    const empty = await problem(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: etag, body: {} }), 422);
    assert.match(empty.errors?.[0]?.message ?? '', /nothing to change/);
    const status = await problem(await call('PATCH', `/v1/admin/products/${body.id}`, { ifMatch: etag, body: { status: 'published' } }), 422);
    assert.deepEqual(fields(status), ['status']);
    const notUuid = await problem(await call('GET', '/v1/admin/products/42'), 400);
    assert.deepEqual(notUuid.errors?.map((e) => [e.in, e.field]), [['path', 'id']]);
  });

  test('401 without the admin token, 404 for a product that does not exist', async () => {
    const noToken = await app.request(`${base}/v1/admin/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await problem(noToken, 401);
    await problem(await app.request(`${base}/v1/admin/products/${crypto.randomUUID()}`), 401);
    const missing = crypto.randomUUID();
    await problem(await call('GET', `/v1/admin/products/${missing}`), 404);
    await problem(await call('PATCH', `/v1/admin/products/${missing}`, { ifMatch: '"x"', body: { title: 'x' } }), 404);
    await problem(await call('DELETE', `/v1/admin/products/${missing}`, { ifMatch: '"x"' }), 404);
  });

  test('slug taken → 409 naming slug, and no event for the refused product', async () => {
    const { body } = await createProduct();
    const before = await deps.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM catalog.outbox`;
    const conflict = await problem(await call('POST', '/v1/admin/products', { body: { slug: body.slug, title: 'Doublon' } }), 409);
    assert.deepEqual(fields(conflict), ['slug']);
    const afterRows = await deps.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM catalog.outbox`;
    assert.equal(afterRows[0]!.n, before[0]!.n, 'the rolled-back insert left no event');
  });

  test('DELETE needs If-Match, records product.deleted, and the product is gone', async () => {
    const { body, etag } = await createProduct();
    await problem(await call('DELETE', `/v1/admin/products/${body.id}`), 428);
    await problem(await call('DELETE', `/v1/admin/products/${body.id}`, { ifMatch: '"stale"' }), 412);
    const deleted = await call('DELETE', `/v1/admin/products/${body.id}`, { ifMatch: etag });
    assert.equal(deleted.status, 204);
    await problem(await call('GET', `/v1/admin/products/${body.id}`), 404);
    assert.deepEqual((await events(body.id)).at(-1), { event_type: 'product.deleted', payload: { slug: body.slug } });
  });
});

describe('admin variants and prices', () => {
  test('create, change, price and delete a variant; each write is one product.changed and a new ETag', async () => {
    const { body: product } = await createProduct();
    const sku = unique('LAMPE').toUpperCase();
    const created = await ok<Product>(
      await call('POST', `/v1/admin/products/${product.id}/variants`, {
        body: { sku, title: 'Noire', options: { couleur: 'noir' }, prices: [{ currency: 'EUR', amount: 4990, compareAtAmount: 5990 }] },
      }),
      201,
    );
    const variant = created.body.variants.find((v) => v.sku === sku)!;
    assert.deepEqual(variant.prices, [{ currency: 'EUR', amount: 4990, compareAtAmount: 5990 }]);

    const patched = await ok<Product>(
      await call('PATCH', `/v1/admin/products/${product.id}/variants/${variant.id}`, { ifMatch: created.etag, body: { title: 'Noir mat' } }),
    );
    const priced = await ok<Product>(
      await call('PUT', `/v1/admin/products/${product.id}/variants/${variant.id}/prices/CHF`, { ifMatch: patched.etag, body: { amount: 5200 } }),
    );
    assert.deepEqual(
      priced.body.variants[0]!.prices.map((p) => [p.currency, p.amount]),
      [
        ['CHF', 5200],
        ['EUR', 4990],
      ],
    );
    const unpriced = await ok<Product>(
      await call('DELETE', `/v1/admin/products/${product.id}/variants/${variant.id}/prices/EUR`, { ifMatch: priced.etag }),
    );
    assert.deepEqual(unpriced.body.variants[0]!.prices.map((p) => p.currency), ['CHF']);
    await problem(await call('DELETE', `/v1/admin/products/${product.id}/variants/${variant.id}/prices/EUR`, { ifMatch: unpriced.etag }), 404);
    const removed = await ok<Product>(await call('DELETE', `/v1/admin/products/${product.id}/variants/${variant.id}`, { ifMatch: unpriced.etag }));
    assert.deepEqual(removed.body.variants, []);
    assert.equal(new Set([created.etag, patched.etag, priced.etag, unpriced.etag, removed.etag]).size, 5);
    const productEvents = await events(product.id);
    assert.equal(productEvents.length, 6, 'create product + 5 writes');
    assert.ok(productEvents.every((e) => e.event_type === 'product.changed' && e.payload.slug === product.slug));
  });

  test('a SKU used anywhere → 409 naming sku; the rolled-back write leaves no event and no row', async () => {
    const sku = unique('SKU').toUpperCase();
    const first = await createProduct();
    await ok(await call('POST', `/v1/admin/products/${first.body.id}/variants`, { body: { sku, title: 'A' } }), 201);
    const second = await createProduct();
    const before = await eventCount(second.body.id);
    const conflict = await problem(await call('POST', `/v1/admin/products/${second.body.id}/variants`, { body: { sku, title: 'B' } }), 409);
    assert.deepEqual(fields(conflict), ['sku']);
    assert.equal(await eventCount(second.body.id), before);
    assert.equal((await ok<Product>(await call('GET', `/v1/admin/products/${second.body.id}`))).etag, second.etag, 'nothing changed');

    const other = await ok<Product>(await call('POST', `/v1/admin/products/${second.body.id}/variants`, { body: { sku: `${sku}-B`, title: 'B' } }), 201);
    const renamed = await problem(
      await call('PATCH', `/v1/admin/products/${second.body.id}/variants/${other.body.variants[0]!.id}`, { ifMatch: other.etag, body: { sku } }),
      409,
    );
    assert.deepEqual(fields(renamed), ['sku']);
  });

  test('prices: compareAtAmount must exceed amount, amounts are integer minor units, currency is ISO', async () => {
    const { body: product } = await createProduct();
    const sku = unique('PRIX').toUpperCase();
    const badCreate = await problem(
      await call('POST', `/v1/admin/products/${product.id}/variants`, { body: { sku, title: 'x', prices: [{ currency: 'EUR', amount: 100, compareAtAmount: 100 }] } }),
      422,
    );
    assert.deepEqual(fields(badCreate), ['prices.0.compareAtAmount']);
    const created = await ok<Product>(await call('POST', `/v1/admin/products/${product.id}/variants`, { body: { sku, title: 'x' } }), 201);
    const variantId = created.body.variants[0]!.id;
    const path = `/v1/admin/products/${product.id}/variants/${variantId}/prices`;
    const cheap = await problem(await call('PUT', `${path}/EUR`, { ifMatch: created.etag, body: { amount: 500, compareAtAmount: 400 } }), 422);
    assert.deepEqual(fields(cheap), ['compareAtAmount']);
    const fractional = await problem(await call('PUT', `${path}/EUR`, { ifMatch: created.etag, body: { amount: 19.99 } }), 422);
    assert.deepEqual(fields(fractional), ['amount']);
    const currency = await problem(await call('PUT', `${path}/euro`, { ifMatch: created.etag, body: { amount: 100 } }), 400);
    assert.deepEqual(fields(currency), ['currency']);
    await problem(await call('PUT', `${path}/EUR`, { body: { amount: 100 } }), 428);
    await problem(await call('PUT', `/v1/admin/products/${product.id}/variants/${crypto.randomUUID()}/prices/EUR`, { ifMatch: created.etag, body: { amount: 100 } }), 404);
  });
});

describe('admin categories', () => {
  async function createCategory(slug: string, parentId: string | null = null) {
    return ok<Category>(await call('POST', '/v1/admin/categories', { body: { slug, name: slug, parentId } }), 201);
  }

  test('create a tree, rename the root: every path below follows, with category.changed for old and new paths and product.changed for filed products', async () => {
    const rootSlug = unique('maison');
    const root = await createCategory(rootSlug);
    const kitchen = await createCategory('cuisine', root.body.id);
    const teapots = await createCategory('theieres', kitchen.body.id);
    assert.equal(teapots.body.path, `${rootSlug}/cuisine/theieres`);
    assert.deepEqual(await events(root.body.id), [{ event_type: 'category.changed', payload: { path: rootSlug } }]);

    const { body: product, etag } = await createProduct();
    const filed = await ok<Product>(await call('PUT', `/v1/admin/products/${product.id}/categories`, { ifMatch: etag, body: { categoryIds: [teapots.body.id] } }));
    assert.deepEqual(filed.body.categories.map((c) => c.path), [teapots.body.path]);
    const productEventsBefore = await eventCount(product.id);

    const newRoot = unique('habitat');
    const renamed = await ok<Category>(await call('PATCH', `/v1/admin/categories/${root.body.id}`, { ifMatch: root.etag, body: { slug: newRoot, name: 'Habitat' } }));
    assert.equal(renamed.body.path, newRoot);
    assert.notEqual(renamed.etag, root.etag);
    const leaf = await ok<Category>(await call('GET', `/v1/admin/categories/${teapots.body.id}`));
    assert.equal(leaf.body.path, `${newRoot}/cuisine/theieres`);
    assert.notEqual(leaf.etag, teapots.etag, 'a moved descendant has a new version');
    assert.deepEqual((await events(teapots.body.id)).slice(-2), [
      { event_type: 'category.changed', payload: { path: `${rootSlug}/cuisine/theieres` } },
      { event_type: 'category.changed', payload: { path: `${newRoot}/cuisine/theieres` } },
    ]);
    assert.equal(await eventCount(product.id), productEventsBefore + 1, 'the filed product is reindexed with its new category path');
    const reread = await ok<Product>(await call('GET', `/v1/admin/products/${product.id}`));
    assert.deepEqual(reread.body.categories.map((c) => c.path), [`${newRoot}/cuisine/theieres`]);
  });

  test('moves: no cycles (409 naming parentId), unknown parent (422), stale ETag (412), missing If-Match (428)', async () => {
    const a = await createCategory(unique('a'));
    const b = await createCategory('b', a.body.id);
    const c = await createCategory(unique('c'), b.body.id);
    const under = await problem(await call('PATCH', `/v1/admin/categories/${a.body.id}`, { ifMatch: a.etag, body: { parentId: c.body.id } }), 409);
    assert.deepEqual(fields(under), ['parentId']);
    await problem(await call('PATCH', `/v1/admin/categories/${a.body.id}`, { ifMatch: a.etag, body: { parentId: a.body.id } }), 409);
    const nowhere = await problem(await call('PATCH', `/v1/admin/categories/${c.body.id}`, { ifMatch: c.etag, body: { parentId: crypto.randomUUID() } }), 422);
    assert.deepEqual(fields(nowhere), ['parentId']);
    await problem(await call('PATCH', `/v1/admin/categories/${c.body.id}`, { body: { name: 'C' } }), 428);

    const moved = await ok<Category>(await call('PATCH', `/v1/admin/categories/${c.body.id}`, { ifMatch: c.etag, body: { parentId: null } }));
    assert.equal(moved.body.path, c.body.slug);
    assert.equal(moved.body.parentId, null);
    await problem(await call('PATCH', `/v1/admin/categories/${c.body.id}`, { ifMatch: c.etag, body: { name: 'C' } }), 412);
    // `c` is top-level now; another category with its slug at the top is a path conflict.
    const again = await problem(await call('POST', '/v1/admin/categories', { body: { slug: c.body.slug, name: 'C' } }), 409);
    assert.deepEqual(fields(again), ['slug']);
    const cleanup = await call('DELETE', `/v1/admin/categories/${c.body.id}`, { ifMatch: moved.etag });
    assert.equal(cleanup.status, 204);
  });

  test('delete: a category with children → 409; a leaf goes, its products lose it and are reindexed', async () => {
    const parent = await createCategory(unique('jardin'));
    const child = await createCategory('outils', parent.body.id);
    const refused = await problem(await call('DELETE', `/v1/admin/categories/${parent.body.id}`, { ifMatch: parent.etag }), 409);
    assert.equal(refused.type, 'https://comptoir.dev/problems/category-has-children');

    const { body: product, etag } = await createProduct();
    await ok(await call('PUT', `/v1/admin/products/${product.id}/categories`, { ifMatch: etag, body: { categoryIds: [child.body.id] } }));
    const before = await eventCount(product.id);
    assert.equal((await call('DELETE', `/v1/admin/categories/${child.body.id}`, { ifMatch: child.etag })).status, 204);
    await problem(await call('GET', `/v1/admin/categories/${child.body.id}`), 404);
    assert.deepEqual((await events(child.body.id)).at(-1), { event_type: 'category.changed', payload: { path: child.body.path } });
    assert.equal(await eventCount(product.id), before + 1);
    assert.deepEqual((await ok<Product>(await call('GET', `/v1/admin/products/${product.id}`))).body.categories, []);
  });

  test('assigning unknown categories → 422 naming the entry, and nothing changes', async () => {
    const { body: product, etag } = await createProduct();
    const real = await createCategory(unique('bureau'));
    const before = await eventCount(product.id);
    const missing = await problem(
      await call('PUT', `/v1/admin/products/${product.id}/categories`, { ifMatch: etag, body: { categoryIds: [real.body.id, crypto.randomUUID()] } }),
      422,
    );
    assert.deepEqual(fields(missing), ['categoryIds.1']);
    assert.equal(await eventCount(product.id), before);
  });
});

/** Smallest byte strings each format's signature accepts; the content past the signature does not matter here. */
const png = (size = 64) => {
  const bytes = new Uint8Array(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  bytes[size - 1] = size % 251;
  return bytes;
};
const jpeg = () => new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);

async function upload(productId: string, parts: Record<string, string | Blob>, headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(parts)) {
    if (value instanceof Blob) form.append(name, value, `${name}.bin`);
    else form.append(name, value);
  }
  return app.request(`${base}/v1/admin/products/${productId}/media`, {
    method: 'POST',
    headers: { authorization: (await adminHeaders(config)).authorization!, ...headers },
    body: form,
  });
}

describe('admin media', () => {
  test('upload, serve with immutable caching, 304 on If-None-Match, alt, reorder, delete', async () => {
    const { body: product } = await createProduct();
    const first = await ok<Product>(await upload(product.id, { file: new Blob([png()], { type: 'image/png' }), alt: 'De face' }), 201);
    const image = first.body.media[0]!;
    assert.equal(image.contentType, 'image/png');
    assert.equal(image.alt, 'De face');
    assert.match(image.key, new RegExp(`^${product.id}/[0-9a-f]{64}\\.png$`));

    const served = await app.request(`${base}${image.url}`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.equal(served.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = served.headers.get('etag')!;
    assert.deepEqual(new Uint8Array(await served.arrayBuffer()), png());
    const cached = await app.request(`${base}${image.url}`, { headers: { 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    assert.equal(await cached.text(), '');

    // Declared as PNG, really a JPEG: stored as what it is.
    const second = await ok<Product>(await upload(product.id, { file: new Blob([jpeg()], { type: 'image/png' }) }, { 'if-match': first.etag }), 201);
    assert.deepEqual(second.body.media.map((m) => [m.contentType, m.position]), [
      ['image/png', 0],
      ['image/jpeg', 1],
    ]);
    const [pngId, jpegId] = second.body.media.map((m) => m.id);

    const alt = await ok<Product>(await call('PATCH', `/v1/admin/products/${product.id}/media/${jpegId}`, { ifMatch: second.etag, body: { alt: 'De dos' } }));
    assert.equal(alt.body.media[1]!.alt, 'De dos');
    const reordered = await ok<Product>(await call('PUT', `/v1/admin/products/${product.id}/media/order`, { ifMatch: alt.etag, body: { mediaIds: [jpegId, pngId] } }));
    assert.deepEqual(reordered.body.media.map((m) => m.id), [jpegId, pngId]);
    const partial = await problem(await call('PUT', `/v1/admin/products/${product.id}/media/order`, { ifMatch: reordered.etag, body: { mediaIds: [jpegId] } }), 422);
    assert.deepEqual(fields(partial), ['mediaIds']);

    await problem(await call('DELETE', `/v1/admin/products/${product.id}/media/${pngId}`), 428);
    const removed = await ok<Product>(await call('DELETE', `/v1/admin/products/${product.id}/media/${pngId}`, { ifMatch: reordered.etag }));
    assert.deepEqual(removed.body.media.map((m) => m.id), [jpegId]);
    await problem(await app.request(`${base}${image.url}`), 404);

    const kinds = (await events(product.id)).map((e) => e.event_type);
    assert.deepEqual(kinds, Array(6).fill('product.changed'), 'create + 2 uploads + alt + reorder + delete');

    // Deleting the product removes its remaining files too.
    const jpegUrl = removed.body.media[0]!.url;
    assert.equal((await app.request(`${base}${jpegUrl}`)).status, 200);
    assert.equal((await call('DELETE', `/v1/admin/products/${product.id}`, { ifMatch: removed.etag })).status, 204);
    await problem(await app.request(`${base}${jpegUrl}`), 404);
  });

  test('refused uploads: text calling itself an image → 415, too large → 413, JSON → 415, unknown or missing fields → 422, same image twice → 409', async () => {
    const { body: product } = await createProduct();
    const before = await eventCount(product.id);
    const text = await problem(await upload(product.id, { file: new Blob(['<html><script>alert(1)</script>'], { type: 'image/png' }) }), 415);
    assert.deepEqual(fields(text), ['file']);
    const large = await problem(await upload(product.id, { file: new Blob([png(5000)], { type: 'image/png' }) }), 413);
    assert.deepEqual(fields(large), ['file']);
    const json = await problem(await call('POST', `/v1/admin/products/${product.id}/media`, { body: { file: 'x' } }), 415);
    assert.deepEqual(json.errors?.map((e) => [e.in, e.field]), [['header', 'content-type']]);
    const unknown = await problem(await upload(product.id, { file: new Blob([png()]), caption: 'x' }), 422);
    assert.deepEqual(fields(unknown), ['caption']);
    const noFile = await problem(await upload(product.id, { alt: 'rien' }), 422);
    assert.deepEqual(fields(noFile), ['file']);
    await problem(await upload(crypto.randomUUID(), { file: new Blob([png()]) }), 404);
    await problem(await upload(product.id, { file: new Blob([png()]) }, { authorization: 'Bearer wrong' }), 401);
    assert.equal(await eventCount(product.id), before, 'no refused upload recorded anything');

    const stored = await ok<Product>(await upload(product.id, { file: new Blob([png(100)]) }), 201);
    const twice = await problem(await upload(product.id, { file: new Blob([png(100)]) }), 409);
    assert.deepEqual(fields(twice), ['file']);
    assert.equal((await app.request(`${base}${stored.body.media[0]!.url}`)).status, 200, 'the refused duplicate did not remove the stored file');
    await problem(await upload(product.id, { file: new Blob([png(120)]) }, { 'if-match': '"stale"' }), 412);
  });

  test('GET /media refuses keys it did not make', async () => {
    await problem(await app.request(`${base}/media/..%2F..%2Fsecrets.json/x.png`), 404);
    await problem(await app.request(`${base}/media/${crypto.randomUUID()}/${'0'.repeat(64)}.png`), 404);
    await problem(await app.request(`${base}/media/${crypto.randomUUID()}/${'0'.repeat(64)}.svg`), 404);
  });
});

describe('OpenAPI', () => {
  test('admin routes are documented with the bearer scheme and the permission they need', async () => {
    const doc = (await (await app.request(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown; 'x-permission'?: string }>> };
    for (const path of ['/v1/admin/products', '/v1/admin/products/{id}', '/v1/admin/products/{id}/media', '/v1/admin/categories/{id}']) {
      assert.ok(doc.paths[path], path);
    }
    assert.deepEqual(doc.paths['/v1/admin/products/{id}']!.patch!.security, [{ bearerAuth: [] }]);
    assert.equal(doc.paths['/v1/admin/products/{id}']!.patch!['x-permission'], 'catalog:write');
    assert.ok(doc.paths['/media/{productId}/{file}']);
  });
});

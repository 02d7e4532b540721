import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { parseCategoryPath } from '../../activities/catalog/importRow';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { upsertProduct } from '../../db/catalog';
import { testConfig } from '../support/stack';

const config = testConfig('related');
const deps = connectApiDeps(config);
const app = createApp(deps);
const run = randomUUID().slice(0, 8);
const root = `Rel ${run}`;

async function product(slug: string, categoryPaths: string[], status: 'published' | 'draft' = 'published') {
  await deps.db.transaction((tx) =>
    upsertProduct(tx, {
      slug: `${slug}-${run}`,
      title: slug,
      description: '',
      status,
      attributes: {},
      categories: categoryPaths.map((path) => parseCategoryPath(`${root} > ${path}`)),
      variants: [{ sku: `${slug}-${run}`.toUpperCase(), title: 'u', options: {}, prices: [{ currency: 'EUR', amount: 1000 }] }],
    }),
  );
}

before(async () => {
  await product('teapot', ['Kitchen > Tea']);
  await product('kettle', ['Kitchen > Tea']);
  await product('cups', ['Kitchen > Tea', 'Gifts']);
  await product('pan', ['Kitchen > Cooking']);
  await product('hidden-teapot', ['Kitchen > Tea'], 'draft');
});
after(() => deps.close());

const related = async (slug: string, query = '') => {
  const response = await app.request(`http://local/v1/products/${slug}-${run}/related${query}`);
  return { status: response.status, body: (await response.json()) as { items: { slug: string }[] } };
};

test('related products: same leaf category first, then the same top level, never drafts or itself', async () => {
  const { status, body } = await related('teapot');
  assert.equal(status, 200);
  const slugs = body.items.map((item) => item.slug.replace(`-${run}`, ''));
  assert.deepEqual(slugs.slice(0, 2).sort(), ['cups', 'kettle']);
  assert.ok(slugs.includes('pan'), 'same top-level category');
  assert.ok(!slugs.includes('teapot'));
  assert.ok(!slugs.includes('hidden-teapot'));
  assert.ok(slugs.indexOf('pan') > slugs.indexOf('kettle'));
});

test('related products: limit, unknown product and bad limit', async () => {
  assert.equal((await related('teapot', '?limit=1')).body.items.length, 1);
  assert.equal((await related('nothing')).status, 404);
  assert.equal((await related('teapot', '?limit=500')).status, 400);
});

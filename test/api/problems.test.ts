import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { freePort, testConfig } from '../support/stack';
import { adminHeaders } from '../support/identity';

type Problem = { type: string; title: string; status: number; detail?: string; errors?: { in: string; field: string; message: string }[]; requestId?: string };

async function expectProblem(response: Response, status: number): Promise<Problem> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const body = (await response.json()) as Problem;
  assert.equal(body.status, status);
  assert.match(body.type, /^https:\/\/comptoir\.dev\/problems\//);
  assert.ok(body.requestId, 'every problem carries the request id');
  assert.doesNotMatch(JSON.stringify(body), /\bat .+\.(ts|js):\d+/, 'no stack trace');
  return body;
}

describe('bad input gets a clear problem+json 4xx naming the field', () => {
  const config = testConfig('problems', { BODY_LIMIT_BYTES: '4096' });
  const deps = connectApiDeps(config);
  const app = createApp(deps);
  const importUrl = 'http://local/v1/admin/catalog/imports';
  after(() => deps.close());

  test('malformed JSON → 400', async () => {
    const body = await expectProblem(await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config)), body: '[{"slug": ' }), 400);
    assert.equal(body.type, 'https://comptoir.dev/problems/malformed-json');
    assert.deepEqual(body.errors?.map((e) => e.in), ['body']);
  });

  test('malformed NDJSON → 400 naming the line', async () => {
    const ndjson = '{"slug":"a"}\n{"slug": \n';
    const body = await expectProblem(await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config, 'application/x-ndjson')), body: ndjson }), 400);
    assert.equal(body.errors?.[0]?.field, 'line 2');
  });

  test('wrong types → 422 with the path of each bad value', async () => {
    const notArray = await expectProblem(await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config)), body: '{"slug":"x"}' }), 422);
    assert.equal(notArray.errors?.[0]?.field, '');
    assert.match(notArray.errors?.[0]?.message ?? '', /array/);
    const badRow = await expectProblem(await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config)), body: '[{"slug":"x"}, "oops", 3]' }), 422);
    assert.deepEqual(badRow.errors?.map((e) => e.field), ['1', '2']);
    const badLimit = await expectProblem(await app.request('http://local/v1/products?limit=abc'), 400);
    assert.deepEqual(badLimit.errors?.map((e) => [e.in, e.field]), [['query', 'limit']]);
    const tooMany = await expectProblem(await app.request('http://local/v1/products?limit=1000'), 400);
    assert.equal(tooMany.errors?.[0]?.field, 'limit');
  });

  test('unknown fields are refused by name, not ignored', async () => {
    const body = await expectProblem(await app.request('http://local/v1/products?limit=5&colour=rouge&size=42'), 400);
    assert.deepEqual(body.errors?.map((e) => [e.in, e.field, e.message]), [
      ['query', 'colour', 'unknown field'],
      ['query', 'size', 'unknown field'],
    ]);
  });

  test('a forged cursor → 400 on cursor', async () => {
    const body = await expectProblem(await app.request('http://local/v1/products?cursor=bm90LWEtY3Vyc29y'), 400);
    assert.equal(body.errors?.[0]?.field, 'cursor');
  });

  test('oversized body → 413', async () => {
    const big = JSON.stringify([{ slug: 'x', title: 'y'.repeat(10_000) }]);
    const body = await expectProblem(await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config)), body: big }), 413);
    assert.match(body.detail ?? '', /4096 bytes/);
  });

  test('wrong content type → 415 naming the header', async () => {
    const body = await expectProblem(
      await app.request(importUrl, { method: 'POST', headers: (await adminHeaders(config, 'text/csv')), body: 'slug,title' }),
      415,
    );
    assert.deepEqual(body.errors?.map((e) => [e.in, e.field]), [['header', 'content-type']]);
  });

  test('unknown route → 404, wrong method → 405 with Allow', async () => {
    await expectProblem(await app.request('http://local/v1/nothing-here'), 404);
    const response = await app.request('http://local/v1/products', { method: 'DELETE' });
    await expectProblem(response, 405);
    assert.match(response.headers.get('allow') ?? '', /GET/);
    await expectProblem(await app.request('http://local/v1/products', { method: 'PUT', body: 'x' }), 405);
  });

  test('admin routes without the admin token → 401', async () => {
    const response = await app.request(importUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    await expectProblem(response, 401);
    const wrong = await app.request(importUrl, { method: 'POST', headers: { ...(await adminHeaders(config)), authorization: 'Bearer not-the-token' }, body: '[]' });
    await expectProblem(wrong, 401);
  });

  test('the OpenAPI 3.1 document is generated from the same schemas', async () => {
    const doc = (await (await app.request('http://local/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v1/products']);
    assert.ok(doc.paths['/v1/products/{slug}']);
    assert.ok(doc.paths['/v1/admin/catalog/imports']);
    const docs = await app.request('http://local/docs');
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /openapi\.json/);
  });
});

describe('a dependency that is down → 503 with Retry-After, and nothing accepted is lost', () => {
  let closedPort: number;
  before(async () => {
    closedPort = await freePort();
  });

  test('/readyz says 503 naming Redis when Redis is unreachable', async () => {
    const config = testConfig('problems-redis', { REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    const deps = connectApiDeps(config);
    try {
      const app = createApp(deps);
      const response = await app.request('http://local/readyz');
      const body = (await expectProblem(response, 503)) as Problem & { checks: Record<string, string> };
      assert.ok(response.headers.get('retry-after'));
      assert.deepEqual(body.checks, { postgres: 'up', redis: 'down', temporal: 'up' });
      assert.match(body.detail ?? '', /redis/);
      assert.equal((await app.request('http://local/healthz')).status, 200, 'alive even when not ready');
    } finally {
      await deps.close();
    }
  });

  test('/readyz is 200 when everything answers', async () => {
    const deps = connectApiDeps(testConfig('problems-ready'));
    try {
      const response = await createApp(deps).request('http://local/readyz');
      assert.equal(response.status, 200);
      assert.deepEqual(((await response.json()) as { checks: unknown }).checks, { postgres: 'up', redis: 'up', temporal: 'up' });
    } finally {
      await deps.close();
    }
  });

  test('an import accepted while Temporal is down answers 503, and the same request later starts that very import', async () => {
    const rows = JSON.stringify([{ slug: 'tapis-yoga', title: 'Tapis de yoga', variants: [{ sku: 'YOGA-TAPIS', title: 'Bleu', prices: [{ currency: 'EUR', amount: 3490 }] }] }]);
    const key = `outage-${Date.now()}`;
    const downConfig = testConfig('problems-temporal', { TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}` });
    const down = connectApiDeps(downConfig);
    let importId: string;
    try {
      const response = await createApp(down).request('http://local/v1/admin/catalog/imports', {
        method: 'POST',
        headers: { ...(await adminHeaders(downConfig)), 'idempotency-key': key },
        body: rows,
      });
      const body = (await expectProblem(response, 503)) as Problem & { dependency: string };
      assert.equal(body.dependency, 'temporal');
      assert.ok(Number(response.headers.get('retry-after')) > 0);
      const [stored] = await down.sql<{ id: string; status: string }[]>`SELECT id, status FROM catalog.imports WHERE idempotency_key = ${key}`;
      assert.equal(stored?.status, 'received', 'the accepted rows are stored before Temporal is asked');
      importId = stored!.id;
    } finally {
      await down.close();
    }

    const upConfig = testConfig('problems-temporal');
    const up = connectApiDeps(upConfig);
    try {
      const retry = await createApp(up).request('http://local/v1/admin/catalog/imports', {
        method: 'POST',
        headers: { ...(await adminHeaders(upConfig)), 'idempotency-key': key },
        body: rows,
      });
      assert.equal(retry.status, 202);
      assert.equal(((await retry.json()) as { id: string }).id, importId);
      const description = await up.temporal.client.workflow.getHandle(`catalog-import-${importId}`).describe();
      assert.equal(description.type, 'catalogImport');
      await up.temporal.client.workflow.getHandle(`catalog-import-${importId}`).terminate('test over: no worker listens on this queue');
    } finally {
      await up.close();
    }
  });
});

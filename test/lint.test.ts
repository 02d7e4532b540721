import { ESLint } from 'eslint';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function lintWorkflowSource(source: string) {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(source, { filePath: `${root}workflows/catalog/probe.ts` });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

test('the lint rule keeps Node, database, cache, search and HTTP imports out of workflows', async () => {
  for (const source of [
    "import { readFileSync } from 'node:fs';",
    "import crypto from 'crypto';",
    "import { eq } from 'drizzle-orm';",
    "import { pgTable } from 'drizzle-orm/pg-core';",
    "import postgres from 'postgres';",
    "import { Redis } from 'ioredis';",
    "import { MeiliSearch } from 'meilisearch';",
    "import { Hono } from 'hono';",
    "import { createCatalogActivities } from '../../activities/catalog/index';",
  ]) {
    assert.equal((await lintWorkflowSource(`${source}\nexport const x = 1;\n`)).length, 1, source);
  }
});

test('workflow code may import the workflow SDK and activities as types', async () => {
  const source = [
    "import { proxyActivities } from '@temporalio/workflow';",
    "import type { CatalogActivities } from '../../activities/catalog/index';",
    'export const a = proxyActivities<CatalogActivities>({ startToCloseTimeout: 1000 });',
  ].join('\n');
  assert.deepEqual(await lintWorkflowSource(source), []);
});

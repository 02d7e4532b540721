// @ts-check
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/**
 * Workflow code is replayed deterministically inside Temporal's sandbox: it may import only the
 * workflow SDK, other workflow files and types. Node built-ins, database, cache, search and HTTP
 * libraries belong in activities.
 */
const forbiddenInWorkflows = [
  ...builtinModules.flatMap((name) => [name, `node:${name}`]),
  'drizzle-orm',
  'postgres',
  'ioredis',
  'meilisearch',
  'hono',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', 'db/migrations/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({ name, message: 'Workflows must stay deterministic: do this in an activity.' })),
          patterns: [
            { group: ['drizzle-orm/*', 'hono/*', '@hono/*', 'postgres/*', 'meilisearch/*'], message: 'Workflows must stay deterministic: do this in an activity.' },
            {
              group: ['**/activities/**', '**/db/**', '**/platform/**', '**/api/**', '**/workers/**'],
              allowTypeImports: true,
              message: 'Workflows see activities only as types (import type).',
            },
          ],
        },
      ],
    },
  },
);

import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { createHash, randomUUID } from 'node:crypto';
import { findImport, findImportByIdempotencyKey, insertImport, listRowErrors, type ImportRecord } from '../../db/imports';
import { DependencyUnavailableError } from '../../platform/errors';
import type { Config } from '../../platform/config';
import {
  catalogImportWorkflowId,
  catalogImportWorkflowType,
  importProgressQuery,
  type CatalogImportInput,
  type ImportProgress,
} from '../../workflows/catalog/definitions';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';

export const catalogImportsPath = '/v1/admin/catalog/imports';
export const importContentTypes = ['application/json', 'application/x-ndjson'];

const maxRows = 50_000;

const ImportRowsJson = z
  .array(z.record(z.string(), z.unknown()))
  .min(1)
  .max(maxRows)
  .openapi({
    description:
      'Products to create or update, each identified by its `slug` (and its variants by `sku`). Rows are validated one by one by the import: a bad row is reported in the import, the others are imported.',
    example: [
      {
        slug: 'theiere-fonte-noire',
        title: 'Théière en fonte',
        categories: ['Maison > Cuisine'],
        variants: [{ sku: 'THE-FONTE-1L', title: '1 L', prices: [{ currency: 'EUR', amount: 4990 }], stock: [{ location: 'paris-1', onHand: 12 }] }],
      },
    ],
  });

const RowError = z.object({ row: z.number().int(), errors: z.array(z.object({ field: z.string(), message: z.string() })) });

const ImportView = z
  .object({
    id: z.string(),
    status: z.enum(['received', 'running', 'completed', 'failed']),
    totalRows: z.number().int(),
    processedRows: z.number().int(),
    importedRows: z.number().int(),
    failedRows: z.number().int(),
    workflowId: z.string(),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    completedAt: z.iso.datetime().nullable(),
    rowErrors: z.array(RowError),
    nextRowErrorsCursor: z.string().nullable(),
    links: z.object({ self: z.string() }),
  })
  .openapi('CatalogImport');

const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: 'The same key and body answer with the same import instead of importing twice' }),
});

const startImport = createRoute({
  method: 'post',
  path: catalogImportsPath,
  tags: ['admin', 'catalog'],
  summary: 'Import products, variants, categories, prices and stock',
  description: 'Answers 202 at once with the import to poll; the `catalogImport` workflow does the work.',
  ...access('catalog:import'),
  request: {
    headers: idempotencyHeader,
    body: {
      // Not `required`: the route validates JSON with the schema and parses NDJSON itself, and a
      // required body would make the JSON validator run on NDJSON too.
      required: false,
      content: {
        'application/json': { schema: ImportRowsJson },
        'application/x-ndjson': { schema: z.string().openapi({ description: 'One product object per line' }) },
      },
    },
  },
  responses: {
    202: { description: 'Accepted; poll the Location', content: { 'application/json': { schema: ImportView } } },
    ...AdminProblemResponses,
  },
});

const getImport = createRoute({
  method: 'get',
  path: `${catalogImportsPath}/{id}`,
  tags: ['admin', 'catalog'],
  summary: 'Progress and row errors of an import',
  ...access('catalog:import'),
  request: {
    params: z.object({ id: z.string().min(1).max(100) }),
    query: z
      .object({
        errorsLimit: z.coerce.number().int().min(1).max(100).default(100),
        errorsCursor: z.string().regex(/^\d+$/, 'must be a row number').optional(),
      })
      .strict(),
  },
  responses: {
    200: { description: 'The import', content: { 'application/json': { schema: ImportView } } },
    ...AdminProblemResponses,
  },
});

/** NDJSON: one object per non-empty line; a broken line refuses the whole body, naming the line. */
function parseNdjson(text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new HttpProblem({
        status: 400,
        slug: 'malformed-json',
        title: 'Malformed JSON',
        detail: `Line ${index + 1} is not valid JSON`,
        errors: [{ in: 'body', field: `line ${index + 1}`, message: 'not valid JSON' }],
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new HttpProblem(problems.validation([{ in: 'body', field: `line ${index + 1}`, message: 'expected a product object' }]));
    }
    rows.push(value as Record<string, unknown>);
  }
  if (rows.length === 0) throw new HttpProblem(problems.validation([{ in: 'body', field: '', message: 'no product lines' }]));
  if (rows.length > maxRows) throw new HttpProblem(problems.validation([{ in: 'body', field: '', message: `at most ${maxRows} lines` }]));
  return rows;
}

/**
 * Starts the workflow for a stored import. Duplicate starts are refused by Temporal itself (the
 * workflow id is the import id), which makes this safe to call again after a 503.
 */
async function ensureImportWorkflow(client: Client, config: Config, record: ImportRecord): Promise<void> {
  if (record.status === 'completed') return;
  const input: CatalogImportInput = { importId: record.id, batchSize: config.IMPORT_BATCH_SIZE };
  try {
    // A bounded wait: the client would otherwise retry an unreachable server for most of a minute.
    await client.withDeadline(Date.now() + 5_000, () =>
      client.workflow.start(catalogImportWorkflowType, {
        workflowId: record.workflowId,
        taskQueue: config.taskQueues.catalog,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    );
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return;
    throw new DependencyUnavailableError('temporal', error);
  }
}

async function liveProgress(client: Client, record: ImportRecord): Promise<ImportProgress | undefined> {
  if (record.status === 'completed') return undefined;
  try {
    return await client.withDeadline(Date.now() + 2_000, () => client.workflow.getHandle(record.workflowId).query(importProgressQuery));
  } catch {
    // Not started yet (Temporal was down when it was accepted), or Temporal unreachable: the stored record speaks.
    return undefined;
  }
}

async function importView(c: { get: (key: 'deps') => AppEnv['Variables']['deps'] }, record: ImportRecord, errorsLimit = 100, afterRow = 0) {
  const { db, temporal } = c.get('deps');
  const [progress, rowErrors] = await Promise.all([
    liveProgress(temporal.client, record),
    listRowErrors(db, record.id, { limit: errorsLimit + 1, afterRow }),
  ]);
  const page = rowErrors.slice(0, errorsLimit);
  const done = record.status === 'completed';
  return {
    id: record.id,
    status: progress?.status ?? record.status,
    totalRows: record.totalRows,
    processedRows: done ? record.totalRows : (progress?.processedRows ?? 0),
    importedRows: done ? record.importedRows : (progress?.importedRows ?? 0),
    failedRows: done ? record.failedRows : (progress?.failedRows ?? 0),
    workflowId: record.workflowId,
    createdAt: record.createdAt.toISOString(),
    startedAt: record.startedAt?.toISOString() ?? null,
    completedAt: record.completedAt?.toISOString() ?? null,
    rowErrors: page.map((r) => ({ row: r.row, errors: r.errors ?? [] })),
    nextRowErrorsCursor: rowErrors.length > errorsLimit ? String(page.at(-1)!.row) : null,
    links: { self: `${catalogImportsPath}/${record.id}` },
  };
}

export function catalogImportRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(startImport, async (c) => {
    const { db, config, temporal } = c.get('deps');
    const isNdjson = (c.req.header('content-type') ?? '').toLowerCase().startsWith('application/x-ndjson');
    // The JSON form was validated by the route schema; NDJSON is parsed here, line by line.
    const rows = isNdjson ? parseNdjson(await c.req.text()) : (c.req.valid('json') as Record<string, unknown>[]);
    const bodySha256 = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;

    let record = idempotencyKey ? await findImportByIdempotencyKey(db, idempotencyKey) : undefined;
    if (record && record.bodySha256 !== bodySha256) {
      throw new HttpProblem({
        status: 422,
        slug: 'idempotency-key-reused',
        title: 'Idempotency key reused with another body',
        detail: 'This Idempotency-Key was first used with a different body',
        errors: [{ in: 'header', field: 'idempotency-key', message: 'already used with a different body' }],
      });
    }
    if (!record) {
      const id = `imp_${randomUUID()}`;
      try {
        await db.transaction((tx) =>
          insertImport(tx, { id, idempotencyKey, bodySha256, workflowId: catalogImportWorkflowId(id), rows }),
        );
      } catch (error) {
        // Two identical requests raced on the same key: the loser answers with the winner's import.
        if ((error as { code?: string }).code !== '23505' || !idempotencyKey) throw error;
      }
      record = idempotencyKey ? await findImportByIdempotencyKey(db, idempotencyKey) : await findImport(db, id);
    }
    // The rows are stored before the workflow starts: if Temporal is down, the caller gets a 503 and
    // retrying with the same Idempotency-Key starts this very import.
    await ensureImportWorkflow(temporal.client, config, record!);
    const view = await importView(c, record!);
    return c.json(view, 202, { Location: view.links.self });
  });

  app.openapi(getImport, async (c) => {
    const { id } = c.req.valid('param');
    const { errorsLimit, errorsCursor } = c.req.valid('query');
    const record = await findImport(c.get('deps').db, id);
    if (!record) throw new HttpProblem(problems.notFound(`No import ${id}`));
    return c.json(await importView(c, record, errorsLimit, errorsCursor ? Number(errorsCursor) : 0), 200);
  });
}

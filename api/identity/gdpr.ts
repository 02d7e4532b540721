import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { erasureRequest, insertErasureRequest } from '../../db/identity/gdpr';
import { exportPersonalData, gdprErasureWorkflowId, gdprErasureWorkflowType } from '../../identity/gdpr';
import { DependencyUnavailableError } from '../../platform/errors';
import type { GdprErasureInput } from '../../workflows/identity/gdprErasure';
import { access, accountOf, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { ProblemResponses, SignedInProblemResponses } from '../schemas';

const PersonalData = z
  .object({
    format: z.literal('comptoir.personal-data.v1'),
    exportedAt: z.iso.datetime(),
    accountId: z.uuid(),
    domains: z.record(z.string(), z.record(z.string(), z.unknown())).openapi({ description: 'What each part of Comptoir holds about you, by domain' }),
  })
  .openapi('PersonalDataExport');

const ErasureAccepted = z
  .object({
    workflowId: z.string(),
    status: z.literal('requested'),
    links: z.object({ status: z.string() }),
  })
  .openapi('ErasureAccepted');

const ErasureStatus = z
  .object({
    accountId: z.uuid(),
    workflowId: z.string(),
    status: z.enum(['in_progress', 'completed']),
    requestedAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
  })
  .openapi('ErasureStatus');

const exportRoute = createRoute({
  method: 'get',
  path: '/v1/me/export',
  tags: ['identity'],
  summary: 'Download every piece of personal data Comptoir holds about you (GDPR art. 15 and 20)',
  ...access('account:self'),
  responses: {
    200: { description: 'A JSON file, sent as an attachment', content: { 'application/json': { schema: PersonalData } } },
    ...SignedInProblemResponses,
  },
});

const eraseRoute = createRoute({
  method: 'delete',
  path: '/v1/me',
  tags: ['identity'],
  summary: 'Erase your account and personal data (GDPR art. 17)',
  description:
    'Answers 202 at once; the `gdprErasure` workflow signs you out everywhere, then erases your data in every domain. ' +
    'Asking again while it runs answers with the same workflow. Poll the Location (no sign-in needed: your sessions end first).',
  ...access('account:self'),
  responses: {
    202: { description: 'Erasure under way', content: { 'application/json': { schema: ErasureAccepted } } },
    ...SignedInProblemResponses,
  },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/v1/erasure-requests/{accountId}',
  tags: ['identity'],
  summary: 'Whether an erasure was asked for and whether it is done',
  description:
    'Public because the person has no session left once erasure starts. It says only "asked at, done at" about an account id, ' +
    'a random identifier known to the person and to staff.',
  ...access('public'),
  request: { params: z.object({ accountId: z.uuid().openapi({ param: { name: 'accountId', in: 'path' } }) }) },
  responses: {
    200: { description: 'The request', content: { 'application/json': { schema: ErasureStatus } } },
    ...ProblemResponses,
  },
});

const statusPath = (accountId: string) => `/v1/erasure-requests/${accountId}`;

export function gdprRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(exportRoute, async (c) => {
    const { db, config } = c.get('deps');
    const { accountId } = accountOf(c);
    const data = await exportPersonalData(db, config, accountId);
    await recordAudit(c, { action: 'identity.data_exported', targetType: 'account', targetId: accountId, details: { domains: Object.keys(data.domains) } });
    const day = data.exportedAt.toISOString().slice(0, 10);
    return c.json({ ...data, exportedAt: data.exportedAt.toISOString() }, 200, {
      'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="comptoir-personal-data-${day}.json"`,
    });
  });

  app.openapi(eraseRoute, async (c) => {
    const { db, config, temporal } = c.get('deps');
    const { accountId } = accountOf(c);
    const workflowId = gdprErasureWorkflowId(config.TASK_QUEUE_PREFIX, accountId);
    // The request is on record before the workflow starts: if Temporal is down the caller gets a 503 and
    // asks again, and `npm run identity -- resume-erasures` finds any request left without a workflow.
    await db.transaction(async (tx) => {
      if (await insertErasureRequest(tx, accountId, workflowId)) {
        await recordAudit(c, { action: 'identity.erasure_requested', targetType: 'account', targetId: accountId, details: { workflowId } }, tx);
      }
    });
    const input: GdprErasureInput = { accountId };
    try {
      await temporal.client.withDeadline(Date.now() + 5_000, () =>
        temporal.client.workflow.start(gdprErasureWorkflowType, {
          workflowId,
          taskQueue: config.taskQueues.identity,
          args: [input],
          // A second request while the erasure runs joins it instead of failing.
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('temporal', error);
    }
    const location = statusPath(accountId);
    return c.json({ workflowId, status: 'requested' as const, links: { status: location } }, 202, { Location: location });
  });

  app.openapi(statusRoute, async (c) => {
    const { accountId } = c.req.valid('param');
    const request = await erasureRequest(c.get('deps').db, accountId);
    if (!request) throw new HttpProblem(problems.notFound('No erasure was requested for this account'));
    return c.json(
      {
        accountId: request.accountId,
        workflowId: request.workflowId,
        status: request.completedAt ? ('completed' as const) : ('in_progress' as const),
        requestedAt: request.requestedAt.toISOString(),
        completedAt: request.completedAt?.toISOString() ?? null,
      },
      200,
      { 'Cache-Control': 'no-store' },
    );
  });
}

/** Staff management: provisioning staff accounts, changing roles, and a minimal view of an account. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { roles } from '../../identity/permissions';
import { changeRole, provisionStaff, staffAccountView, StaffError } from '../../identity/staff';
import { access, accountOf, recordAudit } from '../auth';
import { accessIdempotent } from '../idempotency';
import type { AppEnv } from '../deps';
import { HttpProblem, problems, type ProblemInit } from '../problem';
import { AdminProblemResponses, Problem } from '../schemas';

const problemContent = { 'application/problem+json': { schema: Problem } };
const staffRoleNames = roles.filter((role) => role !== 'customer') as [Exclude<(typeof roles)[number], 'customer'>, ...Exclude<(typeof roles)[number], 'customer'>[]];

const AccountView = z
  .object({
    id: z.uuid(),
    role: z.enum(roles),
    status: z.enum(['active', 'disabled', 'erased']),
    createdAt: z.iso.datetime(),
  })
  .openapi('StaffAccountView');

const NewStaff = z
  .object({
    email: z.email().max(254),
    role: z.enum(staffRoleNames).openapi({ description: 'A staff role; customers sign up themselves' }),
  })
  .strict()
  .openapi('NewStaffAccount');

const RoleChangeBody = z.object({ role: z.enum(roles) }).strict().openapi('RoleChange');
const RoleChangeView = AccountView.extend({
  previousRole: z.enum(roles),
  sessionsRevoked: z.number().int().openapi({ description: 'Sessions ended so that new tokens carry the new role' }),
}).openapi('RoleChangeResult');

const accountIdParam = z.object({ id: z.uuid() });

const createStaffRoute = createRoute({
  method: 'post',
  path: '/v1/admin/staff',
  tags: ['admin', 'identity'],
  summary: 'Create a staff account (no password: the person signs in through the staff identity provider, or resets a password)',
  ...accessIdempotent('staff:manage', { required: false }),
  request: { body: { required: true, content: { 'application/json': { schema: NewStaff } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: AccountView } } },
    409: { description: 'An account with this email exists', content: problemContent },
    ...AdminProblemResponses,
  },
});

const changeRoleRoute = createRoute({
  method: 'patch',
  path: '/v1/admin/accounts/{id}/role',
  tags: ['admin', 'identity'],
  summary: "Change an account's role; its sessions end so that its next tokens carry the new role",
  ...access('staff:manage'),
  request: { params: accountIdParam, body: { required: true, content: { 'application/json': { schema: RoleChangeBody } } } },
  responses: {
    200: { description: 'The account with its new role', content: { 'application/json': { schema: RoleChangeView } } },
    409: { description: 'An admin cannot change their own role', content: problemContent },
    ...AdminProblemResponses,
  },
});

const getAccountRoute = createRoute({
  method: 'get',
  path: '/v1/admin/accounts/{id}',
  tags: ['admin', 'identity'],
  summary: 'An account as staff management sees it: role and status, no personal data',
  ...access('staff:manage'),
  request: { params: accountIdParam },
  responses: { 200: { description: 'The account', content: { 'application/json': { schema: AccountView } } }, ...AdminProblemResponses },
});

function staffProblem(error: StaffError): ProblemInit {
  switch (error.reason) {
    case 'not_found':
      return problems.notFound(error.message);
    case 'email_taken':
      return { status: 409, slug: 'conflict', title: 'Conflict', detail: error.message, errors: [{ in: 'body', field: 'email', message: 'taken' }] };
    case 'self_demotion':
      return { status: 409, slug: 'self-role-change', title: 'Conflict', detail: error.message, errors: [{ in: 'body', field: 'role', message: 'you cannot change your own role' }] };
    case 'not_staff_role':
      return problems.validation([{ in: 'body', field: 'role', message: error.message }]);
  }
}

async function translatingStaffErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StaffError) throw new HttpProblem(staffProblem(error));
    throw error;
  }
}

export function staffRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createStaffRoute, async (c) => {
    const { email, role } = c.req.valid('json');
    const { db, config } = c.get('deps');
    const id = await translatingStaffErrors(() =>
      db.transaction(async (tx) => {
        const accountId = await provisionStaff(tx, config, { email, role });
        // The email is personal data: the event names the account, never the address.
        await recordAudit(c, { action: 'identity.staff_created', targetType: 'account', targetId: accountId, details: { role } }, tx);
        return accountId;
      }),
    );
    const view = await staffAccountView(db, id);
    return c.json(view!, 201, { Location: `/v1/admin/accounts/${id}` });
  });

  app.openapi(changeRoleRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const me = accountOf(c);
    const { db } = c.get('deps');
    const change = await translatingStaffErrors(() =>
      db.transaction(async (tx) => {
        const done = await changeRole(tx, { actorAccountId: me.accountId, accountId: id, role });
        if (done.changed) {
          await recordAudit(
            c,
            { action: 'identity.role_changed', targetType: 'account', targetId: id, details: { from: done.from, to: done.to, sessionsRevoked: done.sessionsRevoked } },
            tx,
          );
        }
        return done;
      }),
    );
    const view = await staffAccountView(db, id);
    return c.json({ ...view!, previousRole: change.from, sessionsRevoked: change.sessionsRevoked }, 200);
  });

  app.openapi(getAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const view = await staffAccountView(c.get('deps').db, id);
    if (!view) throw new HttpProblem(problems.notFound(`No account ${id}`));
    return c.json(view, 200);
  });
}

import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { signingKeyRotationWorkflowType } from '../../workflows/identity/definitions';
import { InvalidRefreshToken, refreshSession, revokeAccountSessions, revokeSession } from '../../identity/sessions';
import { access, accountOf, auditOrigin, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem } from '../problem';
import { AdminProblemResponses, ProblemResponses, SignedInProblemResponses } from '../schemas';

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().openapi({ description: 'Seconds until the access token expires' }),
    refresh_token: z.string().openapi({ description: 'Single use: each refresh returns the next one; presenting a used one revokes the session' }),
  })
  .openapi('TokenResponse');

const RefreshBody = z.object({ refresh_token: z.string().min(1).max(200) }).strict().openapi('RefreshRequest');
const LogoutBody = z
  .object({ everywhere: z.boolean().default(false).openapi({ description: 'End every session of the account, not only this one' }) })
  .strict()
  .openapi('LogoutRequest');

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('JsonWebKeySet');

const refreshRoute = createRoute({
  method: 'post',
  path: '/v1/auth/refresh',
  tags: ['identity'],
  summary: 'Exchange a refresh token for a new access token and the next refresh token',
  ...access('public'),
  request: { body: { required: true, content: { 'application/json': { schema: RefreshBody } } } },
  responses: {
    200: { description: 'New tokens', content: { 'application/json': { schema: TokenResponse } } },
    ...SignedInProblemResponses,
  },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/v1/auth/logout',
  tags: ['identity'],
  summary: 'End this session (or every session): its refresh token stops working at once, its access tokens at their next request',
  ...access('account:self'),
  request: { body: { required: false, content: { 'application/json': { schema: LogoutBody } } } },
  responses: { 204: { description: 'Signed out' }, ...SignedInProblemResponses },
});

const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['identity'],
  summary: 'Public keys verifying Comptoir access tokens (the current key and recently retired ones)',
  ...access('public'),
  responses: { 200: { description: 'JSON Web Key Set', content: { 'application/json': { schema: Jwks } } }, ...ProblemResponses },
});

const RotationView = z.object({ workflowId: z.string() }).openapi('SigningKeyRotation');
const rotateRoute = createRoute({
  method: 'post',
  path: '/v1/admin/signing-keys/rotate',
  tags: ['admin', 'identity'],
  summary: 'Rotate the access-token signing key now (the Schedule also does it every SIGNING_KEY_ROTATION_DAYS)',
  ...access('keys:rotate'),
  responses: { 202: { description: 'Rotation started', content: { 'application/json': { schema: RotationView } } }, ...AdminProblemResponses },
});

export function tokenRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(refreshRoute, async (c) => {
    const { refresh_token } = c.req.valid('json');
    try {
      const origin = auditOrigin(c);
      return c.json(await refreshSession(c.get('deps'), refresh_token, { ip: origin.ip, requestId: origin.requestId }), 200, { 'Cache-Control': 'no-store' });
    } catch (error) {
      if (!(error instanceof InvalidRefreshToken)) throw error;
      throw new HttpProblem({ status: 401, slug: 'invalid-grant', title: 'Invalid refresh token', detail: error.message });
    }
  });

  app.openapi(logoutRoute, async (c) => {
    const me = accountOf(c);
    // An empty body is allowed; a present one must be valid JSON matching the schema.
    const text = await c.req.text();
    const parsed = LogoutBody.safeParse(text.trim() === '' ? {} : JSON.parse(text));
    const everywhere = parsed.success && parsed.data.everywhere;
    const { db } = c.get('deps');
    await db.transaction(async (tx) => {
      if (everywhere) await revokeAccountSessions(tx, me.accountId, 'logout_everywhere');
      else await revokeSession(tx, me.sessionId, 'logout');
      await recordAudit(c, { action: 'identity.logout', targetType: 'account', targetId: me.accountId, details: { everywhere } }, tx);
    });
    return c.body(null, 204);
  });

  app.openapi(jwksRoute, async (c) => {
    const keys = await c.get('deps').tokens.publishedKeys();
    // Verifiers may cache it briefly; a new key is published before it signs anything another process verifies.
    return c.json({ keys }, 200, { 'Cache-Control': 'public, max-age=60' });
  });

  app.openapi(rotateRoute, async (c) => {
    const { temporal, config } = c.get('deps');
    const workflowId = `${config.TASK_QUEUE_PREFIX}signing-key-rotation-manual-${randomUUID()}`;
    await temporal.client.workflow.start(signingKeyRotationWorkflowType, { workflowId, taskQueue: config.taskQueues.identity, args: [] });
    await recordAudit(c, { action: 'identity.signing_key_rotation_requested', targetType: 'workflow', targetId: workflowId });
    return c.json({ workflowId }, 202);
  });
}

/**
 * Partner clients over HTTP: the OAuth 2 token endpoint (client credentials, RFC 6749 §4.4) and the
 * admin routes that create, list, re-key and revoke clients. Token endpoint errors are problem
 * documents that also carry RFC 6749 §5.2's `error` and `error_description`, so a stock OAuth client
 * library understands them.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { listPartnerClients, partnerClientById } from '../../db/identity/partners';
import {
  createPartnerClient,
  issuePartnerToken,
  maxSecretLength,
  OAuthError,
  partnerIdPattern,
  PartnerIdTaken,
  partnerView,
  revokePartnerClient,
  rotatePartnerSecret,
  type OAuthErrorCode,
} from '../../identity/partners';
import { partnerScopes } from '../../identity/permissions';
import { fieldPath, HttpProblem, problems, type FieldError, type ProblemInit } from '../problem';
import { access, recordAudit } from '../auth';
import { accessIdempotent } from '../idempotency';
import type { AppEnv } from '../deps';
import { byClientIp, rateLimit } from '../rate-limit';
import { AdminProblemResponses, pageQuery, Problem } from '../schemas';

export const oauthTokenPath = '/v1/oauth/token';
/** RFC 6749 §4.4.2: the token request is form-encoded. `api/app.ts` admits exactly these on this path. */
export const oauthTokenContentTypes = ['application/x-www-form-urlencoded'];

/** Per client address: a scrypt per request is what an attacker would make us pay for, so it is bounded. */
const tokenRateRule = { name: 'oauth-token:ip', limit: 60, windowMs: 60_000 };

const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

const TokenRequest = z
  .object({
    grant_type: z.string().min(1).max(100).openapi({ example: 'client_credentials' }),
    scope: z.string().min(1).max(1000).optional().openapi({ description: 'Space-separated subset of the scopes the client holds; all of them when absent' }),
    client_id: z.string().min(1).max(200).optional().openapi({ description: 'Only when the client does not use HTTP Basic (preferred)' }),
    client_secret: z.string().min(1).max(maxSecretLength).optional().openapi({ description: 'Only when the client does not use HTTP Basic (preferred)' }),
  })
  // RFC 6749 §3.2: unknown parameters are ignored, not refused.
  .openapi('ClientCredentialsTokenRequest');

const PartnerToken = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().openapi({ description: 'Seconds until the token expires; ask for a new one then (there is no refresh token)' }),
    scope: z.string().openapi({ description: 'Space-separated scopes the token carries' }),
  })
  .openapi('PartnerTokenResponse');

const OAuthProblem = Problem.extend({
  error: z.enum(['invalid_request', 'invalid_client', 'invalid_scope', 'unsupported_grant_type']),
  error_description: z.string().optional(),
}).openapi('OAuthProblem');
const problemContent = { 'application/problem+json': { schema: Problem } };
const oauthProblemContent = { 'application/problem+json': { schema: OAuthProblem } };

const tokenRoute = createRoute({
  method: 'post',
  path: oauthTokenPath,
  tags: ['identity', 'partners'],
  summary: 'OAuth 2 client credentials: a partner client exchanges its id and secret for an access token',
  description:
    'Authenticate with HTTP Basic (`client_id:client_secret`, each form-urlencoded, RFC 6749 §2.3.1) or with `client_id` and `client_secret` in the body — not both.',
  ...access('public'),
  middleware: [access('public').middleware, rateLimit(tokenRateRule, byClientIp())],
  request: { body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequest } } } },
  responses: {
    200: { description: 'An access token', content: { 'application/json': { schema: PartnerToken } } },
    400: { description: '`invalid_request`, `invalid_scope` or `unsupported_grant_type`', content: oauthProblemContent },
    401: { description: '`invalid_client`: unknown client, wrong secret, or revoked client', content: oauthProblemContent },
    415: AdminProblemResponses[415],
    429: { description: 'Too many token requests from this address', content: problemContent },
    503: AdminProblemResponses[503],
  },
});

const PartnerClient = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    createdAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .openapi('PartnerClient');

const PartnerClientWithSecret = PartnerClient.extend({
  clientSecret: z.string().openapi({ description: 'Shown this once; only a hash is kept. Store it in the partner\'s secret manager now.' }),
}).openapi('PartnerClientWithSecret');

const PartnerPage = z.object({ items: z.array(PartnerClient), nextCursor: z.string().nullable() }).openapi('PartnerClientPage');

const NewPartner = z
  .object({
    id: z
      .string()
      .regex(partnerIdPattern, 'lower-case letters, digits, ".", "_" or "-", 3 to 64 characters')
      .optional()
      .openapi({ description: 'The client_id; generated when absent', example: 'payments-sandbox' }),
    name: z.string().trim().min(1).max(200),
    scopes: z.array(z.enum(partnerScopes)).min(1).max(partnerScopes.length),
  })
  .strict()
  .openapi('NewPartnerClient');

const partnerIdParam = z.object({ id: z.string().regex(partnerIdPattern, 'not a partner client id') });

const createPartnerRoute = createRoute({
  method: 'post',
  path: '/v1/admin/partners',
  tags: ['admin', 'partners'],
  summary: 'Create a partner client; the answer holds its secret, shown this once',
  ...accessIdempotent('partners:manage', { required: false }),
  request: { body: { required: true, content: { 'application/json': { schema: NewPartner } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: PartnerClientWithSecret } } },
    409: { description: 'The id is taken (revoked clients keep theirs)', content: problemContent },
    ...AdminProblemResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/admin/partners',
  tags: ['admin', 'partners'],
  summary: 'Partner clients in id order, revoked ones included',
  ...access('partners:manage'),
  request: { query: pageQuery },
  responses: { 200: { description: 'A page of clients', content: { 'application/json': { schema: PartnerPage } } }, ...AdminProblemResponses },
});

const rotateRoute = createRoute({
  method: 'post',
  path: '/v1/admin/partners/{id}/secret',
  tags: ['admin', 'partners'],
  summary: 'Give a client a new secret: the old one stops working at once (tokens already issued live until they expire)',
  ...access('partners:manage'),
  request: { params: partnerIdParam },
  responses: {
    200: { description: 'The client with its new secret, shown this once', content: { 'application/json': { schema: PartnerClientWithSecret } } },
    409: { description: 'The client is revoked', content: problemContent },
    ...AdminProblemResponses,
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/v1/admin/partners/{id}',
  tags: ['admin', 'partners'],
  summary: 'Revoke a client: no new tokens, and its live tokens stop at their next request',
  ...access('partners:manage'),
  request: { params: partnerIdParam },
  responses: { 204: { description: 'Revoked (also when it already was)' }, ...AdminProblemResponses },
});

function oauthProblem(error: OAuthErrorCode, description: string, fields?: FieldError[]): ProblemInit {
  const invalidClient = error === 'invalid_client';
  return {
    status: invalidClient ? 401 : 400,
    slug: error.replaceAll('_', '-'),
    title: { invalid_request: 'Invalid token request', invalid_client: 'Invalid client', invalid_scope: 'Invalid scope', unsupported_grant_type: 'Unsupported grant type' }[error],
    detail: description,
    ...(fields ? { errors: fields } : {}),
    headers: { ...noStore, ...(invalidClient ? { 'WWW-Authenticate': 'Basic realm="comptoir", charset="UTF-8"' } : {}) },
    extra: { error, error_description: description },
  };
}

/** `application/x-www-form-urlencoded` decoding of one Basic credential half (RFC 6749 §2.3.1). */
function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * The credentials the client presented, by exactly one method (RFC 6749 §2.3): HTTP Basic, or the
 * body. Another Authorization scheme is no client authentication at all.
 */
function clientCredentials(c: Context<AppEnv>, body: z.infer<typeof TokenRequest>): { clientId: string; secret: string } {
  const header = c.req.header('authorization');
  const basic = header === undefined ? undefined : /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (header !== undefined && !basic) throw new OAuthError('invalid_client', 'The Authorization header must be HTTP Basic with the client id and secret');
  if (basic) {
    if (body.client_secret !== undefined) throw new OAuthError('invalid_request', 'Authenticate with HTTP Basic or with client_secret in the body, not both');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const clientId = colon < 0 ? undefined : formDecode(decoded.slice(0, colon));
    const secret = colon < 0 ? undefined : formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || secret === undefined) throw new OAuthError('invalid_client', 'The Basic credentials are not client_id:client_secret');
    if (body.client_id !== undefined && body.client_id !== clientId) throw new OAuthError('invalid_request', 'client_id in the body differs from the one in the Authorization header');
    return { clientId, secret };
  }
  if (body.client_id === undefined || body.client_secret === undefined) {
    throw new OAuthError('invalid_client', 'Authenticate with HTTP Basic (client_id:client_secret), or send client_id and client_secret in the body');
  }
  return { clientId: body.client_id, secret: body.client_secret };
}

function pageCursor(id: string): string {
  return Buffer.from(JSON.stringify({ after: id })).toString('base64url');
}

function afterIdOf(cursor: string): string {
  try {
    const { after } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof after === 'string' && partnerIdPattern.test(after)) return after;
  } catch {
    // Refused below like any other cursor this API did not write.
  }
  throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor this API returned' }], 400));
}

const notFound = (id: string) => new HttpProblem(problems.notFound(`No partner client ${id}`));

export function partnerRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    tokenRoute,
    async (c) => {
      const body = c.req.valid('form');
      const deps = c.get('deps');
      try {
        if (body.grant_type !== 'client_credentials') {
          throw new OAuthError('unsupported_grant_type', 'This endpoint grants only client_credentials');
        }
        const issued = await issuePartnerToken(deps, clientCredentials(c, body), body.scope);
        await recordAudit(c, {
          actorType: 'partner',
          actorId: issued.clientId,
          action: 'identity.partner_token_issued',
          targetType: 'partner_client',
          targetId: issued.clientId,
          details: { scopes: issued.response.scope.split(' ') },
        });
        return c.json(issued.response, 200, noStore);
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        if (error.error === 'invalid_client' || error.clientId) {
          await recordAudit(c, {
            // A client refused after authenticating (a scope it does not hold) is the actor; otherwise nobody known.
            ...(error.error !== 'invalid_client' && error.clientId ? { actorType: 'partner', actorId: error.clientId } : {}),
            action: 'identity.partner_token_refused',
            targetType: 'partner_client',
            // Only ids of real clients: an id a stranger made up names nothing worth recording.
            targetId: error.clientId ?? null,
            details: { error: error.error, ...(error.reason ? { reason: error.reason } : {}) },
          });
        }
        const fields: FieldError[] | undefined =
          error.error === 'invalid_scope' ? [{ in: 'body', field: 'scope', message: error.message }]
          : error.error === 'unsupported_grant_type' ? [{ in: 'body', field: 'grant_type', message: error.message }]
          : undefined;
        throw new HttpProblem(oauthProblem(error.error, error.message, fields));
      }
    },
    (result) => {
      if (result.success) return undefined;
      // Missing, repeated (RFC 6749 §3.2 forbids it) or oversize parameters: `invalid_request`, naming each.
      const fields: FieldError[] = result.error.issues.map((issue) => ({ in: 'body', field: fieldPath(issue.path), message: issue.message }));
      throw new HttpProblem(oauthProblem('invalid_request', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields));
    },
  );

  app.openapi(createPartnerRoute, async (c) => {
    const input = c.req.valid('json');
    const { db } = c.get('deps');
    try {
      const created = await db.transaction(async (tx) => {
        const made = await createPartnerClient(tx, input);
        await recordAudit(
          c,
          { action: 'identity.partner_created', targetType: 'partner_client', targetId: made.client.id, details: { name: made.client.name, scopes: made.client.scopes } },
          tx,
        );
        return made;
      });
      return c.json({ ...partnerView(created.client), clientSecret: created.secret }, 201, { ...noStore, Location: `/v1/admin/partners/${created.client.id}` });
    } catch (error) {
      if (!(error instanceof PartnerIdTaken)) throw error;
      throw new HttpProblem({ status: 409, slug: 'conflict', title: 'Conflict', detail: error.message, errors: [{ in: 'body', field: 'id', message: 'taken' }] });
    }
  });

  app.openapi(listRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await listPartnerClients(c.get('deps').db, { limit: limit + 1, afterId: cursor === undefined ? undefined : afterIdOf(cursor) });
    const page = rows.slice(0, limit);
    return c.json({ items: page.map(partnerView), nextCursor: rows.length > limit ? pageCursor(page.at(-1)!.id) : null }, 200);
  });

  app.openapi(rotateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.get('deps');
    const rotated = await db.transaction(async (tx) => {
      const done = await rotatePartnerSecret(tx, id);
      if (done) await recordAudit(c, { action: 'identity.partner_secret_rotated', targetType: 'partner_client', targetId: id, details: {} }, tx);
      return done;
    });
    if (!rotated) {
      const existing = await partnerClientById(db, id);
      if (!existing) throw notFound(id);
      throw new HttpProblem({ status: 409, slug: 'conflict', title: 'Conflict', detail: `Partner client ${id} is revoked; create a new client` });
    }
    return c.json({ ...partnerView(rotated.client), clientSecret: rotated.secret }, 200, noStore);
  });

  app.openapi(revokeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.get('deps');
    const revoked = await db.transaction(async (tx) => {
      const row = await revokePartnerClient(tx, id);
      if (row) await recordAudit(c, { action: 'identity.partner_revoked', targetType: 'partner_client', targetId: id, details: {} }, tx);
      return row;
    });
    if (!revoked && !(await partnerClientById(db, id))) throw notFound(id);
    return c.body(null, 204);
  });
}

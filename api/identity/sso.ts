/** Staff single sign-on: an ID token from the company's OpenID Connect issuer in, a Comptoir session out. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { signInWithSso, SsoDisabled, ssoEnabled, SsoRejected, SsoUnavailable } from '../../identity/staff-sso';
import { access, auditOrigin } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { byClientIp, rateLimit } from '../rate-limit';
import { Problem, SignedInProblemResponses } from '../schemas';
import { TokenResponse } from './tokens';

const ssoRateRule = { name: 'sso:ip', limit: 30, windowMs: 60_000 };
const problemContent = { 'application/problem+json': { schema: Problem } };

const SsoBody = z
  .object({
    idToken: z.string().min(1).max(8192).openapi({ description: 'The ID token the staff identity provider issued to Comptoir (STAFF_OIDC_AUDIENCE)' }),
  })
  .strict()
  .openapi('StaffSsoRequest');

const ssoRoute = createRoute({
  method: 'post',
  path: '/v1/auth/sso',
  tags: ['identity'],
  summary: 'Staff single sign-on: exchange an ID token from the staff OpenID Connect issuer for Comptoir tokens',
  description:
    'Only for staff accounts, linked on first use by the verified email of an existing staff account. The session holds staff permissions only when the ID token says the issuer did MFA (`amr` with `mfa`, `otp`, `hwk` or `swk`); otherwise it has a customer\'s permissions until the person signs in at the issuer with MFA. 404 when no issuer is configured.',
  ...access('public'),
  middleware: [access('public').middleware, rateLimit(ssoRateRule, byClientIp())],
  request: { body: { required: true, content: { 'application/json': { schema: SsoBody } } } },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokenResponse } } },
    ...SignedInProblemResponses,
    401: { description: 'The ID token is invalid: signature, issuer, audience, age or expiry', content: problemContent },
    403: { description: 'The ID token is valid but names no active staff account', content: problemContent },
  },
});

export function ssoRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(ssoRoute, async (c) => {
    const deps = c.get('deps');
    if (!ssoEnabled(deps.config)) throw new HttpProblem(problems.notFound('Staff single sign-on is not configured'));
    const { idToken } = c.req.valid('json');
    const { ip, requestId } = auditOrigin(c);
    try {
      const signIn = await signInWithSso(deps, idToken, { ip, requestId });
      return c.json(signIn.tokens, 200, { 'Cache-Control': 'no-store' });
    } catch (error) {
      if (error instanceof SsoRejected) {
        throw new HttpProblem(
          error.status === 401
            ? { status: 401, slug: 'invalid-id-token', title: 'Invalid ID token', detail: error.message, errors: [{ in: 'body', field: 'idToken', message: error.message }] }
            : { status: 403, slug: 'sso-not-allowed', title: 'Forbidden', detail: error.message },
        );
      }
      if (error instanceof SsoUnavailable) {
        deps.logger.warn({ requestId, err: { message: (error.cause as Error | undefined)?.message ?? error.message } }, 'staff identity provider unavailable');
        throw new HttpProblem(problems.unavailable('staff identity provider'));
      }
      if (error instanceof SsoDisabled) throw new HttpProblem(problems.notFound('Staff single sign-on is not configured'));
      throw error;
    }
  });
}

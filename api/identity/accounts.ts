import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { checkPassword, emailLookupHash, registerAccount, requestPasswordReset, resetPassword, verifyEmail } from '../../identity/accounts';
import { createMfaChallenge, hasConfirmedTotp } from '../../identity/mfa';
import { startSession } from '../../identity/sessions';
import { passwordProblems } from '../../platform/passwords';
import { rateLimiterFor, rateLimitRules, type RateLimitRule } from '../../platform/rate-limit';
import { access, auditOrigin, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems, type FieldError, type ProblemInit } from '../problem';
import { clientIp, rateLimit } from '../rate-limit';
import { ProblemResponses, SignedInProblemResponses } from '../schemas';
import { TokenResponse } from './tokens';

/** Lock-out scope of wrong passwords, per email (its keyed hash), whether or not the email has an account. */
const loginLockoutScope = 'login';

const Email = z.email().max(254).openapi({ example: 'camille@example.com' });
const NewPassword = z
  .string()
  .min(1)
  .max(1024)
  .openapi({ description: 'At least 12 characters, not a common password, not containing the email address', example: 'correct horse battery staple' });
// Long enough for any password we accept; the bound keeps one scrypt per request cheap to refuse.
const Password = z.string().min(1).max(1024);
const OneTimeToken = z.string().min(1).max(200).openapi({ description: 'The token from the link in the message (after `#token=`)' });
const Language = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'a BCP 47 language tag, e.g. fr-FR')
  .openapi({ description: 'Language of the messages we send (BCP 47)', example: 'fr-FR' });

const RegisterBody = z.object({ email: Email, password: NewPassword, language: Language.optional() }).strict().openapi('RegisterRequest');
const VerifyEmailBody = z.object({ token: OneTimeToken }).strict().openapi('VerifyEmailRequest');
const LoginBody = z.object({ email: Email, password: Password }).strict().openapi('LoginRequest');
const PasswordResetBody = z.object({ email: Email }).strict().openapi('PasswordResetRequest');
const PasswordResetConfirmBody = z.object({ token: OneTimeToken, password: NewPassword }).strict().openapi('PasswordResetConfirmRequest');

const Accepted = z.object({ message: z.string() }).openapi('AcceptedByMail');
const MfaChallenge = z
  .object({
    mfaRequired: z.literal(true),
    mfaToken: z.string().openapi({ description: 'Send it with a TOTP or recovery code to `POST /v1/auth/login/mfa`' }),
  })
  .openapi('MfaChallenge');
const LoginResult = z.union([TokenResponse, MfaChallenge]).openapi('LoginResult');

const problemContent = ProblemResponses[422].content;
/** Public routes: anonymous callers, JSON bodies, rate limits. */
const PublicProblemResponses = {
  ...ProblemResponses,
  413: { description: 'Body too large', content: problemContent },
  415: SignedInProblemResponses[415],
  429: SignedInProblemResponses[429],
} as const;

/** Rate limits apply to the address the request came from; behind a trusted proxy, the one it reports. */
const ipOf = (c: Context<AppEnv>) => clientIp(c, { trustProxy: c.get('deps').config.TRUST_PROXY });

/** `access('public')` plus a per-address limit, counted before the body is even parsed. */
function publicLimited(rule: RateLimitRule) {
  const publicAccess = access('public');
  return { ...publicAccess, middleware: [publicAccess.middleware, rateLimit(rule, ipOf)] };
}

const registerRoute = createRoute({
  method: 'post',
  path: '/v1/auth/register',
  tags: ['identity'],
  summary: 'Create an account; a verification link is mailed to the address',
  description:
    'Answers 202 whether or not the address already has an account, so the answer does not tell who is a customer: a new address receives a verification link (valid 24 h), a known one a notice that it already has an account.',
  ...publicLimited(rateLimitRules.register.ip),
  request: { body: { required: true, content: { 'application/json': { schema: RegisterBody } } } },
  responses: { 202: { description: 'Accepted: a message is on its way to the address', content: { 'application/json': { schema: Accepted } } }, ...PublicProblemResponses },
});

const verifyEmailRoute = createRoute({
  method: 'post',
  path: '/v1/auth/verify-email',
  tags: ['identity'],
  summary: 'Confirm the email address with the token from the verification link (single use)',
  ...access('public'),
  request: { body: { required: true, content: { 'application/json': { schema: VerifyEmailBody } } } },
  responses: { 204: { description: 'The address is verified' }, ...PublicProblemResponses },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags: ['identity'],
  summary: 'Sign in with email and password',
  description:
    'Returns tokens, or — for an account with TOTP — `{ mfaRequired: true, mfaToken }` to complete at `POST /v1/auth/login/mfa`. A wrong password and an unknown email get the same 401. An account whose address is not verified yet is refused with 403 `email-not-verified` (only once the password is right, so it reveals nothing to someone without it). Repeated failures lock the email out for a growing time (429 with Retry-After).',
  ...publicLimited(rateLimitRules.login.ip),
  request: { body: { required: true, content: { 'application/json': { schema: LoginBody } } } },
  responses: {
    200: { description: 'Signed in, or a second factor is needed', content: { 'application/json': { schema: LoginResult } } },
    ...PublicProblemResponses,
    401: { description: 'The email or the password is wrong (one answer for both)', content: problemContent },
    403: { description: 'Right password, but the address is not verified yet (`email-not-verified`) or the account is disabled', content: problemContent },
  },
});

const passwordResetRoute = createRoute({
  method: 'post',
  path: '/v1/auth/password-reset',
  tags: ['identity'],
  summary: 'Ask for a password reset link (valid 1 h) to be mailed to the address',
  description: 'Answers 202 whether or not the address has an account.',
  ...publicLimited(rateLimitRules.passwordReset.ip),
  request: { body: { required: true, content: { 'application/json': { schema: PasswordResetBody } } } },
  responses: { 202: { description: 'Accepted: if the address has an account, a link is on its way', content: { 'application/json': { schema: Accepted } } }, ...PublicProblemResponses },
});

const passwordResetConfirmRoute = createRoute({
  method: 'post',
  path: '/v1/auth/password-reset/confirm',
  tags: ['identity'],
  summary: 'Set a new password with the token from the reset link (single use); every session of the account ends',
  ...access('public'),
  request: { body: { required: true, content: { 'application/json': { schema: PasswordResetConfirmBody } } } },
  responses: { 204: { description: 'Password changed; sign in again' }, ...PublicProblemResponses },
});

const invalidCredentials: ProblemInit = { status: 401, slug: 'invalid-credentials', title: 'Invalid credentials', detail: 'The email or the password is wrong' };

const invalidToken = (): HttpProblem =>
  new HttpProblem({
    status: 400,
    slug: 'invalid-token',
    title: 'Invalid or expired link',
    detail: 'This link is unknown, was already used, or has expired; ask for a new one',
    errors: [{ in: 'body', field: 'token', message: 'unknown, already used or expired' }],
  });

const weakPassword = (reasons: string[]): HttpProblem =>
  new HttpProblem(problems.validation(reasons.map((message): FieldError => ({ in: 'body', field: 'password', message }))));

const accepted = (message: string) => ({ message });

/** Refuses with 429 unless `rule` still admits a request for this email (keyed by its hash: no email in Redis). */
async function limitPerEmail(c: Context<AppEnv>, rule: RateLimitRule, emailHash: string): Promise<void> {
  const { redis, logger } = c.get('deps');
  const decision = await rateLimiterFor(redis, logger).consume(rule, emailHash);
  if (!decision.allowed) throw new HttpProblem(tooManyProblem(decision.retryAfterMs, 'Too many attempts for this account; retry after the time given in Retry-After'));
}

function tooManyProblem(retryAfterMs: number, detail: string): ProblemInit {
  return { status: 429, slug: 'rate-limited', title: 'Too Many Requests', detail, headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
}

export function accountRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(registerRoute, async (c) => {
    const body = c.req.valid('json');
    const reasons = passwordProblems(body.password, { email: body.email });
    if (reasons.length > 0) throw weakPassword(reasons);
    const origin = auditOrigin(c);
    await registerAccount(c.get('deps').db, c.get('deps').config, body, { ip: origin.ip, requestId: origin.requestId });
    return c.json(accepted('If this address can be registered, a message is on its way to it; follow its link to confirm the address.'), 202);
  });

  app.openapi(verifyEmailRoute, async (c) => {
    const { token } = c.req.valid('json');
    const origin = auditOrigin(c);
    const accountId = await verifyEmail(c.get('deps').db, token, { ip: origin.ip, requestId: origin.requestId });
    if (!accountId) throw invalidToken();
    return c.body(null, 204);
  });

  app.openapi(loginRoute, async (c) => {
    const { email, password } = c.req.valid('json');
    const deps = c.get('deps');
    const limiter = rateLimiterFor(deps.redis, deps.logger);
    const emailHash = emailLookupHash(deps.config, email);

    // Locked and rate-limited answers are decided by the email alone, known account or not.
    const lock = await limiter.lockout(loginLockoutScope, emailHash);
    if (lock.locked) throw new HttpProblem(tooManyProblem(lock.retryAfterMs, 'Too many failed sign-ins for this account; retry after the time given in Retry-After'));
    await limitPerEmail(c, rateLimitRules.login.account, emailHash);

    const check = await checkPassword(deps.db, deps.config, email, password);
    if (!check.ok) {
      const failure = await limiter.recordFailure(loginLockoutScope, emailHash);
      await recordAudit(c, {
        action: 'identity.login_failed',
        targetType: 'account',
        targetId: check.accountId ?? null,
        details: { reason: check.reason, failures: failure.failures, ...(failure.locked ? { lockedForMs: failure.retryAfterMs } : {}) },
      });
      throw new HttpProblem(invalidCredentials);
    }
    await limiter.clearFailures(loginLockoutScope, emailHash);

    const { account } = check;
    const refuse = async (reason: 'email_not_verified' | 'account_disabled', init: ProblemInit): Promise<never> => {
      await recordAudit(c, { action: 'identity.login_failed', targetType: 'account', targetId: account.id, details: { reason } });
      throw new HttpProblem(init);
    };
    if (account.status !== 'active') {
      await refuse('account_disabled', { status: 403, slug: 'account-disabled', title: 'Account disabled', detail: 'This account is disabled; contact support' });
    }
    // Refused rather than let in with a flag: someone who registered another person's address must
    // not get a working account before that person proves it is theirs (account pre-hijacking).
    if (!account.emailVerifiedAt) {
      await refuse('email_not_verified', {
        status: 403,
        slug: 'email-not-verified',
        title: 'Email not verified',
        detail: 'Confirm your address with the link we mailed you first; a password reset also confirms it',
      });
    }

    if (await hasConfirmedTotp(deps.db, account.id)) {
      const mfaToken = await createMfaChallenge({ redis: deps.redis, config: deps.config }, account.id);
      await recordAudit(c, { action: 'identity.login_mfa_required', actorType: 'account', actorId: account.id, targetType: 'account', targetId: account.id });
      return c.json({ mfaRequired: true as const, mfaToken }, 200, { 'Cache-Control': 'no-store' });
    }

    const tokens = await deps.db.transaction(async (tx) => {
      const issued = await startSession(deps, account.id, ['pwd'], tx);
      await recordAudit(c, { action: 'identity.login', actorType: 'account', actorId: account.id, targetType: 'account', targetId: account.id, details: { methods: ['pwd'] } }, tx);
      return issued;
    });
    return c.json(tokens, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(passwordResetRoute, async (c) => {
    const { email } = c.req.valid('json');
    const deps = c.get('deps');
    await limitPerEmail(c, rateLimitRules.passwordReset.account, emailLookupHash(deps.config, email));
    const origin = auditOrigin(c);
    await requestPasswordReset(deps.db, deps.config, email, { ip: origin.ip, requestId: origin.requestId });
    return c.json(accepted('If this address has an account, a message with a reset link is on its way to it.'), 202);
  });

  app.openapi(passwordResetConfirmRoute, async (c) => {
    const { token, password } = c.req.valid('json');
    const deps = c.get('deps');
    const origin = auditOrigin(c);
    const outcome = await resetPassword(deps.db, deps.config, token, password, { ip: origin.ip, requestId: origin.requestId });
    if (!outcome.ok) throw outcome.reason === 'weak_password' ? weakPassword(outcome.problems) : invalidToken();
    // The owner has just proved control of the mailbox: earlier wrong guesses no longer lock them out.
    await rateLimiterFor(deps.redis, deps.logger).clearFailures(loginLockoutScope, outcome.emailHash);
    return c.body(null, 204);
  });
}

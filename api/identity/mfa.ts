import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { eq } from 'drizzle-orm';
import { deleteRecoveryCodes, deleteTotpFactor, replaceRecoveryCodes, revokeOtherSessions, unusedRecoveryCodeCount } from '../../db/identity/mfa';
import { accounts } from '../../db/schema/identity';
import {
  attemptMfaChallenge,
  authMethodsAfter,
  endMfaChallenge,
  hasConfirmedTotp,
  newRecoveryCodes,
  startTotpEnrolment,
  totpStatus,
  verifySecondFactor,
  verifyTotp,
  type SecondFactor,
} from '../../identity/mfa';
import { staffRoles } from '../../identity/permissions';
import { startSession } from '../../identity/sessions';
import { rateLimiterFor, type RateLimitRule } from '../../platform/rate-limit';
import type { Executor } from '../../platform/postgres';
import { access, accountOf, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, type ProblemInit } from '../problem';
import { clientIp, rateLimit } from '../rate-limit';
import { ProblemResponses, SignedInProblemResponses } from '../schemas';
import { TokenResponse } from './tokens';

/** Lock-out scope of wrong second factors, per account, shared by the login step and the account's own MFA routes. */
const lockoutScope = 'mfa';
/** The per-challenge budget bounds one challenge; this bounds how fast anyone can open challenges and try them from one address. */
const loginMfaIpRule: RateLimitRule = { name: 'login-mfa:ip', limit: 20, windowMs: 15 * 60_000 };

const TotpCode = z.string().regex(/^\d{6}$/, 'six digits').openapi({ description: 'The six digits the authenticator shows now', example: '123456' });
const SecondFactorCode = z
  .string()
  .min(6)
  .max(32)
  .openapi({ description: 'Six TOTP digits, or one unused recovery code (`xxxx-xxxx-xxxx`)', example: '123456' });

const ConfirmBody = z.object({ code: TotpCode }).strict().openapi('TotpConfirmRequest');
const CodeBody = z.object({ code: SecondFactorCode }).strict().openapi('SecondFactorRequest');
const LoginMfaBody = z
  .object({
    mfaToken: z.string().min(1).max(200).openapi({ description: 'The challenge `POST /v1/auth/login` returned for an account with MFA; valid 5 minutes, 5 attempts' }),
    code: SecondFactorCode,
  })
  .strict()
  .openapi('LoginMfaRequest');

const TotpEnrolmentView = z
  .object({
    secret: z.string().openapi({ description: 'Base32 secret, for typing into an authenticator' }),
    otpauthUri: z.string().openapi({ description: '`otpauth://totp/…`, for a QR code' }),
  })
  .openapi('TotpEnrolment');
const RecoveryCodesView = z
  .object({
    recoveryCodes: z.array(z.string()).openapi({ description: 'Shown this once: each signs in once in place of a TOTP code' }),
  })
  .openapi('RecoveryCodes');

const problemContent = ProblemResponses[422].content;
const wrongCode401 = { description: 'The code is wrong, replayed or already used, or the challenge is unknown, expired or spent', content: problemContent };
const wrongCode403 = { description: 'The code is wrong, replayed or already used (also: staff may not disable MFA)', content: problemContent };
const conflict409 = { description: 'MFA is not in the state this needs (already enabled, or not enabled)', content: problemContent };
const locked429 = { description: 'Too many wrong codes (or requests): retry after `Retry-After` seconds', content: problemContent };

const enrolRoute = createRoute({
  method: 'post',
  path: '/v1/me/mfa/totp',
  tags: ['identity'],
  summary: 'Begin TOTP enrolment: a new secret, active once confirmed with a first code',
  ...access('account:self'),
  responses: {
    200: { description: 'The secret, not active yet', content: { 'application/json': { schema: TotpEnrolmentView } } },
    409: conflict409,
    ...SignedInProblemResponses,
  },
});

const confirmRoute = createRoute({
  method: 'post',
  path: '/v1/me/mfa/totp/confirm',
  tags: ['identity'],
  summary: 'Confirm TOTP enrolment with a first code; returns the recovery codes, once',
  description: 'Ends the account\'s other sessions: they were opened with the password alone.',
  ...access('account:self'),
  request: { body: { required: true, content: { 'application/json': { schema: ConfirmBody } } } },
  responses: {
    200: { description: 'MFA is on', content: { 'application/json': { schema: RecoveryCodesView } } },
    ...SignedInProblemResponses,
    403: wrongCode403,
    409: conflict409,
    429: locked429,
  },
});

const disableRoute = createRoute({
  method: 'delete',
  path: '/v1/me/mfa/totp',
  tags: ['identity'],
  summary: 'Turn MFA off, proving a current code (or a recovery code); not allowed for staff',
  description: 'Deletes the factor and the recovery codes, and ends the account\'s other sessions.',
  ...access('account:self'),
  request: { body: { required: true, content: { 'application/json': { schema: CodeBody } } } },
  responses: {
    204: { description: 'MFA is off' },
    ...SignedInProblemResponses,
    403: wrongCode403,
    409: conflict409,
    429: locked429,
  },
});

const regenerateRoute = createRoute({
  method: 'post',
  path: '/v1/me/mfa/recovery-codes',
  tags: ['identity'],
  summary: 'Replace every recovery code, proving a current code (or a recovery code)',
  ...access('account:self'),
  request: { body: { required: true, content: { 'application/json': { schema: CodeBody } } } },
  responses: {
    200: { description: 'The new codes, shown once; the old ones stop working', content: { 'application/json': { schema: RecoveryCodesView } } },
    ...SignedInProblemResponses,
    403: wrongCode403,
    409: conflict409,
    429: locked429,
  },
});

const loginMfaRoute = createRoute({
  method: 'post',
  path: '/v1/auth/login/mfa',
  tags: ['identity'],
  summary: 'Second step of signing in to an account with MFA: the challenge token and a TOTP or recovery code',
  ...access('public'),
  middleware: [access('public').middleware, rateLimit(loginMfaIpRule, (c) => clientIp(c, { trustProxy: c.get('deps').config.TRUST_PROXY }))],
  request: { body: { required: true, content: { 'application/json': { schema: LoginMfaBody } } } },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokenResponse } } },
    ...ProblemResponses,
    401: wrongCode401,
    415: SignedInProblemResponses[415],
    429: locked429,
  },
});

type Stage = 'login' | 'confirm' | 'disable' | 'recovery_codes';

const invalidCode = (status: 401 | 403, detail: string): HttpProblem =>
  new HttpProblem({ status, slug: 'invalid-mfa-code', title: 'Invalid second factor', detail });

/** Refuses at once while the account is locked out of second-factor attempts. */
async function refuseWhileLocked(c: Context<AppEnv>, accountId: string): Promise<void> {
  const { redis, logger } = c.get('deps');
  const state = await rateLimiterFor(redis, logger).lockout(lockoutScope, accountId);
  if (!state.locked) return;
  const init: ProblemInit = {
    status: 429,
    slug: 'rate-limited',
    title: 'Too Many Requests',
    detail: 'Too many wrong codes; retry after the time given in Retry-After',
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(state.retryAfterMs / 1000))) },
  };
  throw new HttpProblem(init);
}

/** A wrong code: audited, and counted towards the account's lock-out. */
async function recordFailure(c: Context<AppEnv>, accountId: string, stage: Stage): Promise<void> {
  const { redis, logger } = c.get('deps');
  const failure = await rateLimiterFor(redis, logger).recordFailure(lockoutScope, accountId);
  await recordAudit(c, { action: 'identity.mfa_failed', targetType: 'account', targetId: accountId, details: { stage, failures: failure.failures, locked: failure.locked } });
}

async function recordSuccess(c: Context<AppEnv>, accountId: string): Promise<void> {
  const { redis, logger } = c.get('deps');
  await rateLimiterFor(redis, logger).clearFailures(lockoutScope, accountId);
}

/** A recovery code was spent: audited with how many are left, so the owner (and support) can see it coming. */
async function recordRecoveryUse(c: Context<AppEnv>, db: Executor, accountId: string, factor: SecondFactor, stage: Stage): Promise<void> {
  if (factor !== 'recovery_code') return;
  const remaining = await unusedRecoveryCodeCount(db, accountId);
  await recordAudit(c, { action: 'identity.recovery_code_used', targetType: 'account', targetId: accountId, details: { stage, remaining } }, db);
}

export function mfaRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(enrolRoute, async (c) => {
    const me = accountOf(c);
    const { db, config } = c.get('deps');
    const enrolment = await startTotpEnrolment({ db, config }, me.accountId);
    if (!enrolment) throw new HttpProblem({ status: 409, slug: 'mfa-already-enabled', title: 'Conflict', detail: 'MFA is already enabled; disable it first to enrol a new authenticator' });
    return c.json(enrolment, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(confirmRoute, async (c) => {
    const me = accountOf(c);
    const { code } = c.req.valid('json');
    const { db, config } = c.get('deps');
    await refuseWhileLocked(c, me.accountId);
    const outcome = await db.transaction(async (tx) => {
      const factor = await totpStatus(tx, me.accountId);
      if (factor !== 'pending') return factor;
      if (!(await verifyTotp({ db: tx, config }, me.accountId, code, { confirming: true }))) return 'wrong';
      const recovery = newRecoveryCodes();
      await replaceRecoveryCodes(tx, me.accountId, recovery.hashes);
      // Sessions opened with the password alone predate the new rule and may be an intruder's: only this one stays.
      const revoked = await revokeOtherSessions(tx, me.accountId, me.sessionId, 'mfa_enrolled');
      await recordAudit(c, { action: 'identity.mfa_enrolled', targetType: 'account', targetId: me.accountId, details: { recoveryCodes: recovery.codes.length, sessionsRevoked: revoked } }, tx);
      return { codes: recovery.codes };
    });
    if (outcome === 'none') throw new HttpProblem({ status: 409, slug: 'mfa-not-started', title: 'Conflict', detail: 'No enrolment to confirm: start one with POST /v1/me/mfa/totp' });
    if (outcome === 'confirmed') throw new HttpProblem({ status: 409, slug: 'mfa-already-enabled', title: 'Conflict', detail: 'MFA is already enabled' });
    if (outcome === 'wrong') {
      await recordFailure(c, me.accountId, 'confirm');
      throw invalidCode(403, 'The code does not match the new secret; check the authenticator\'s clock and try the current code');
    }
    await recordSuccess(c, me.accountId);
    return c.json({ recoveryCodes: outcome.codes }, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(disableRoute, async (c) => {
    const me = accountOf(c);
    // Staff permissions need a second factor (identity/permissions.ts): turning it off would only lock them out of their work.
    if (staffRoles.has(me.role)) throw new HttpProblem({ status: 403, slug: 'mfa-required', title: 'Forbidden', detail: 'Staff accounts must keep MFA enabled' });
    const { code } = c.req.valid('json');
    const { db, config } = c.get('deps');
    await refuseWhileLocked(c, me.accountId);
    const outcome = await db.transaction(async (tx) => {
      if (!(await hasConfirmedTotp(tx, me.accountId))) return 'not-enabled' as const;
      const factor = await verifySecondFactor({ db: tx, config }, me.accountId, code);
      if (!factor) return 'wrong' as const;
      await recordRecoveryUse(c, tx, me.accountId, factor, 'disable');
      await deleteTotpFactor(tx, me.accountId);
      await deleteRecoveryCodes(tx, me.accountId);
      // The factors that let someone in have changed: sessions opened under the old ones end, except this one, which just proved both.
      const revoked = await revokeOtherSessions(tx, me.accountId, me.sessionId, 'mfa_disabled');
      await recordAudit(c, { action: 'identity.mfa_disabled', targetType: 'account', targetId: me.accountId, details: { factor, sessionsRevoked: revoked } }, tx);
      return 'disabled' as const;
    });
    if (outcome === 'not-enabled') throw new HttpProblem({ status: 409, slug: 'mfa-not-enabled', title: 'Conflict', detail: 'MFA is not enabled' });
    if (outcome === 'wrong') {
      await recordFailure(c, me.accountId, 'disable');
      throw invalidCode(403, 'The code is wrong, was already used, or belongs to an earlier time step');
    }
    await recordSuccess(c, me.accountId);
    return c.body(null, 204);
  });

  app.openapi(regenerateRoute, async (c) => {
    const me = accountOf(c);
    const { code } = c.req.valid('json');
    const { db, config } = c.get('deps');
    await refuseWhileLocked(c, me.accountId);
    const outcome = await db.transaction(async (tx) => {
      if (!(await hasConfirmedTotp(tx, me.accountId))) return 'not-enabled' as const;
      const factor = await verifySecondFactor({ db: tx, config }, me.accountId, code);
      if (!factor) return 'wrong' as const;
      await recordRecoveryUse(c, tx, me.accountId, factor, 'recovery_codes');
      const recovery = newRecoveryCodes();
      await replaceRecoveryCodes(tx, me.accountId, recovery.hashes);
      await recordAudit(c, { action: 'identity.recovery_codes_regenerated', targetType: 'account', targetId: me.accountId, details: { count: recovery.codes.length, factor } }, tx);
      return { codes: recovery.codes };
    });
    if (outcome === 'not-enabled') throw new HttpProblem({ status: 409, slug: 'mfa-not-enabled', title: 'Conflict', detail: 'MFA is not enabled' });
    if (outcome === 'wrong') {
      await recordFailure(c, me.accountId, 'recovery_codes');
      throw invalidCode(403, 'The code is wrong, was already used, or belongs to an earlier time step');
    }
    await recordSuccess(c, me.accountId);
    return c.json({ recoveryCodes: outcome.codes }, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(loginMfaRoute, async (c) => {
    const { mfaToken, code } = c.req.valid('json');
    const deps = c.get('deps');
    // One answer for an unknown, expired, spent or exhausted challenge: none of them says anything about an account.
    const attempt = await attemptMfaChallenge(deps, mfaToken);
    if (!attempt) throw invalidCode(401, 'The sign-in challenge is unknown, expired or used up; sign in with the password again');
    const { accountId } = attempt;
    await refuseWhileLocked(c, accountId);
    const factor = await deps.db.transaction(async (tx) => {
      const proved = await verifySecondFactor({ db: tx, config: deps.config }, accountId, code);
      if (proved) await recordRecoveryUse(c, tx, accountId, proved, 'login');
      return proved;
    });
    if (!factor) {
      // The last allowed attempt failed: the challenge goes now rather than at its expiry.
      if (attempt.last) await endMfaChallenge(deps, mfaToken);
      await recordFailure(c, accountId, 'login');
      throw invalidCode(401, attempt.last ? 'Wrong code, and no attempts left: sign in with the password again' : 'Wrong code');
    }
    // Only the request that removes the challenge opens a session: two correct codes racing yield one.
    if (!(await endMfaChallenge(deps, mfaToken))) throw invalidCode(401, 'The sign-in challenge was already used');
    const [account] = await deps.db.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, accountId));
    if (account?.status !== 'active') throw invalidCode(401, 'The sign-in challenge is unknown, expired or used up; sign in with the password again');
    await recordSuccess(c, accountId);
    const authMethods = authMethodsAfter(factor);
    const tokens = await deps.db.transaction(async (tx) => {
      const issued = await startSession(deps, accountId, authMethods, tx);
      await recordAudit(c, { actorType: 'account', actorId: accountId, action: 'identity.login', targetType: 'account', targetId: accountId, details: { methods: authMethods } }, tx);
      return issued;
    });
    return c.json(tokens, 200, { 'Cache-Control': 'no-store' });
  });
}

/**
 * Who is calling, and may they. `authenticate()` turns a bearer token into a principal for the whole
 * app; each route then states the one permission it needs with `access(permission)`, which both guards
 * the route and writes the permission into the OpenAPI document (`x-permission`) for the route × role test.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { appendAudit, type AuditEntry } from '../db/audit';
import { partnerClients } from '../db/schema/identity';
import { sessionIsActive } from '../db/identity/sessions';
import { and, eq, isNull } from 'drizzle-orm';
import { isAllowed, staffRoles, type Permission, type Principal } from '../identity/permissions';
import { InvalidToken } from '../identity/tokens';
import type { Executor } from '../platform/postgres';
import type { AppEnv } from './deps';
import { HttpProblem, problem, type ProblemInit } from './problem';
import { clientIp } from './rate-limit';
import { routeOf } from './route';

export type AccountPrincipal = Extract<Principal, { kind: 'account' }>;

const unauthorized = (detail: string, error?: 'invalid_token'): ProblemInit => ({
  status: 401,
  slug: 'unauthorized',
  title: 'Unauthorized',
  detail,
  headers: { 'WWW-Authenticate': error ? `Bearer realm="comptoir", error="${error}"` : 'Bearer realm="comptoir"' },
});

const forbidden = (detail: string): ProblemInit => ({ status: 403, slug: 'forbidden', title: 'Forbidden', detail });

/**
 * Reads `Authorization: Bearer …` when present. A token that does not verify, or whose session was
 * revoked, is refused on any route (RFC 6750 `invalid_token`) rather than silently treated as anonymous.
 */
export function authenticate(options: { clientAuthPaths?: readonly string[] } = {}): MiddlewareHandler<AppEnv> {
  const clientAuthPaths = new Set(options.clientAuthPaths ?? []);
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) return next();
    // On the OAuth token endpoint, HTTP Basic carries a partner client's own credentials (RFC 6749 §2.3.1): the route checks them.
    if (clientAuthPaths.has(c.req.path) && /^Basic /i.test(header)) return next();
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    if (!match) return problem(c, unauthorized('The Authorization header must be "Bearer <access token>"', 'invalid_token'));
    const { tokens, db } = c.get('deps');
    let principal: Principal;
    try {
      principal = await tokens.verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidToken) return problem(c, unauthorized(`Invalid access token: ${error.message}`, 'invalid_token'));
      throw error;
    }
    // Revocation is checked on every request against Postgres, the one place a logout, a reuse
    // detection or an erasure is recorded: a revoked session stops at its next request, not at expiry.
    const live =
      principal.kind === 'account'
        ? await sessionIsActive(db, principal.sessionId, principal.accountId)
        : (await db.select({ id: partnerClients.id }).from(partnerClients).where(and(eq(partnerClients.id, principal.clientId), isNull(partnerClients.revokedAt)))).length > 0;
    if (!live) return problem(c, unauthorized('Invalid access token: the session has ended', 'invalid_token'));
    c.set('principal', principal);
    return next();
  };
}

/** Refuses the request unless the principal holds `permission`. */
export function authorize(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (permission === 'public') return next();
    const principal = c.get('principal');
    if (!principal) return problem(c, unauthorized('This route needs an access token'));
    if (!isAllowed(principal, permission)) {
      const needsMfa = principal.kind === 'account' && staffRoles.has(principal.role) && permission !== 'account:self';
      return problem(
        c,
        forbidden(
          needsMfa
            ? `Staff permissions need a session signed in with a second factor; enrol MFA and sign in again (${permission})`
            : `This route needs the ${permission} permission`,
        ),
      );
    }
    await next();
    if (isStaffAction(principal, permission, c)) await auditStaffAction(c, permission);
  };
}

/**
 * Spread into `createRoute({...})`: the guard, the OpenAPI security requirement, and `x-permission`,
 * which the route × role test reads.
 */
export function access<P extends Permission>(permission: P) {
  return {
    'x-permission': permission,
    security: permission === 'public' ? [] : [{ bearerAuth: [] }],
    middleware: authorize(permission),
  };
}

export function principalOf(c: Context<AppEnv>): Principal | undefined {
  return c.get('principal');
}

/** The signed-in person, for `account:self` routes; throws 401 for anyone else (a partner has no "me"). */
export function accountOf(c: Context<AppEnv>): AccountPrincipal {
  const principal = c.get('principal');
  if (principal?.kind !== 'account') throw new HttpProblem(unauthorized('This route needs a person\'s access token'));
  return principal;
}

/**
 * ABAC for resources a person owns (carts, orders, addresses): the owner may act; so may staff holding
 * `staffPermission` on a second-factor session. Anyone else gets a 404, not a 403, so ids cannot be probed.
 */
export function requireOwnerOrStaff(c: Context<AppEnv>, ownerAccountId: string | null | undefined, staffPermission: Permission, what: string): void {
  const principal = c.get('principal');
  if (principal?.kind === 'account' && ownerAccountId && principal.accountId === ownerAccountId) return;
  if (principal && isAllowed(principal, staffPermission)) return;
  throw new HttpProblem({ status: 404, slug: 'not-found', title: 'Not Found', detail: `No such ${what}` });
}

/** Who did it, from where, in which request: the audit log's common columns. */
export function auditOrigin(c: Context<AppEnv>): Pick<AuditEntry, 'actorType' | 'actorId' | 'ip' | 'requestId'> {
  const principal = c.get('principal');
  return {
    actorType: principal ? principal.kind : 'anonymous',
    actorId: principal ? (principal.kind === 'account' ? principal.accountId : principal.clientId) : null,
    ip: clientIp(c, { trustProxy: c.get('deps').config.TRUST_PROXY }) ?? null,
    requestId: c.get('requestId') ?? null,
  };
}

/** Appends a security event or staff action for this request; pass the transaction that makes the change. */
export async function recordAudit(
  c: Context<AppEnv>,
  event: Pick<AuditEntry, 'action' | 'targetType' | 'targetId' | 'details'> & Partial<Pick<AuditEntry, 'actorType' | 'actorId'>>,
  db: Executor = c.get('deps').db,
): Promise<void> {
  await appendAudit(db, { ...auditOrigin(c), ...event });
}

function isStaffAction(principal: Principal | undefined, permission: Permission, c: Context<AppEnv>): boolean {
  if (permission === 'public' || permission === 'account:self') return false;
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return false;
  return principal !== undefined && c.res.status < 400;
}

/** Every successful staff or partner write is in the audit log, whether or not its route records a finer-grained event too. */
async function auditStaffAction(c: Context<AppEnv>, permission: Permission): Promise<void> {
  await recordAudit(c, {
    action: c.get('principal')?.kind === 'partner' ? 'partner.action' : 'staff.action',
    targetType: 'route',
    targetId: `${c.req.method} ${routeOf(c)}`,
    details: { permission, path: c.req.path, status: c.res.status },
  });
}

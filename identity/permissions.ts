/**
 * Who may do what, in one table. Every route names one permission (`api/auth.ts`, `access()`); the
 * route × role test walks the OpenAPI document and checks each route against this table, so a route
 * added without a rule fails CI.
 */
import { roles, type Role } from '../db/schema/identity';

export { roles, type Role };

export const permissions = [
  /** Anyone, signed in or not: browsing, search, sign-up, sign-in. */
  'public',
  /** Any signed-in person acting on their own account: profile, addresses, consents, MFA, export, erasure, logout. */
  'account:self',
  'catalog:write',
  'catalog:import',
  'search:manage',
  'audit:read',
  'staff:manage',
  'partners:manage',
  'keys:rotate',
  /** Read any customer's orders (support answering a customer, ops following the flow). */
  'orders:read',
  /** Act on any order: fraud decisions, cancellations on a customer's behalf. */
  'orders:manage',
  /** Refund part of a captured payment without a return (a goodwill gesture by support); audited. */
  'refunds:goodwill',
  'pii:rotate',
  /** Create and change promotions and coupons, and preview them on a cart. */
  'promotions:manage',
  /** Define, launch, pause, resume and cancel marketing campaigns, and follow their progress. */
  'campaigns:manage',
  'webhooks:payments',
  'webhooks:shipments',
] as const;
export type Permission = (typeof permissions)[number];

/** Staff roles are powerful: their permissions apply only to sessions that passed a second factor. */
export const staffRoles: ReadonlySet<Role> = new Set(['support', 'catalog_manager', 'ops', 'admin']);

const customer: Permission[] = ['public', 'account:self'];

export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  customer: new Set(customer),
  support: new Set([...customer, 'orders:read', 'refunds:goodwill']),
  catalog_manager: new Set([...customer, 'catalog:write', 'catalog:import', 'search:manage', 'promotions:manage', 'campaigns:manage']),
  ops: new Set([...customer, 'orders:read', 'orders:manage', 'refunds:goodwill']),
  admin: new Set([
    ...customer,
    'catalog:write',
    'catalog:import',
    'search:manage',
    'audit:read',
    'staff:manage',
    'partners:manage',
    'keys:rotate',
    'pii:rotate',
    'orders:read',
    'orders:manage',
    'refunds:goodwill',
    'promotions:manage',
    'campaigns:manage',
  ]),
};

/** Scopes a partner client can be granted: only machine-facing permissions. */
export const partnerScopes = ['webhooks:payments', 'webhooks:shipments', 'catalog:import'] as const satisfies readonly Permission[];
export type PartnerScope = (typeof partnerScopes)[number];

export type Principal =
  | { kind: 'account'; accountId: string; role: Role; sessionId: string; authMethods: string[] }
  | { kind: 'partner'; clientId: string; scopes: PartnerScope[] };

/** RFC 8176 methods that count as a second factor: our TOTP, a recovery code, or the staff identity provider's own MFA. */
const secondFactors = new Set(['otp', 'mfa']);

export function hasSecondFactor(authMethods: readonly string[]): boolean {
  return authMethods.some((method) => secondFactors.has(method));
}

/**
 * The permissions a principal holds right now. A staff account signed in without a second factor holds
 * only a customer's, enough to enrol MFA and sign in again.
 */
export function permissionsOf(principal: Principal | undefined): ReadonlySet<Permission> {
  if (!principal) return new Set(['public']);
  if (principal.kind === 'partner') return new Set<Permission>(['public', ...principal.scopes]);
  if (staffRoles.has(principal.role) && !hasSecondFactor(principal.authMethods)) return rolePermissions.customer;
  return rolePermissions[principal.role];
}

export function isAllowed(principal: Principal | undefined, permission: Permission): boolean {
  return permissionsOf(principal).has(permission);
}

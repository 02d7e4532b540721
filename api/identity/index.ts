import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { tokenRoutes } from './tokens';

/** Identity's routes, one module per concern. */
export function identityRoutes(app: OpenAPIHono<AppEnv>): void {
  tokenRoutes(app);
  // accounts: register, verify, login, password reset
  // mfa: enrolment, second factor at login, recovery codes
  // partners and staff: client credentials, staff SSO, roles, audit log
  // profile and GDPR: /v1/me, addresses, consents, export, erasure
}

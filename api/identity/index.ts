import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { tokenRoutes } from './tokens';
import { profileRoutes } from './profile';
import { gdprRoutes } from './gdpr';
import { partnerRoutes } from './partners';
import { staffRoutes } from './staff';
import { ssoRoutes } from './sso';
import { auditRoutes } from './audit';
import { accountRoutes } from './accounts';
import { mfaRoutes } from './mfa';
import { piiRoutes } from './pii';

/** Identity's routes, one module per concern. */
export function identityRoutes(app: OpenAPIHono<AppEnv>): void {
  tokenRoutes(app);
  accountRoutes(app); // accounts: register, verify, login, password reset
  mfaRoutes(app); // mfa: enrolment, second factor at login, recovery codes
  piiRoutes(app); // PII key rotation (admin)
  partnerRoutes(app); // partners and staff: client credentials, staff SSO, roles, audit log
  staffRoutes(app);
  ssoRoutes(app);
  auditRoutes(app);
  profileRoutes(app); // profile and GDPR: /v1/me, addresses, consents, export, erasure
  gdprRoutes(app);
}

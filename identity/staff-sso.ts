/**
 * Staff single sign-on: Comptoir trusts ID tokens from the company's OpenID Connect issuer
 * (STAFF_OIDC_ISSUER, keys at STAFF_OIDC_JWKS_URL, issued to STAFF_OIDC_AUDIENCE) for staff accounts
 * only. An (issuer, subject) pair is linked to an account once, by a verified email that already
 * belongs to a staff account; SSO never creates accounts and never signs a customer in, so a person
 * who controls an IdP entry cannot reach a shopper's orders by naming the shopper's email.
 *
 * Second factor: the session counts as MFA (`amr` `oidc` + `mfa`) only when the ID token says the
 * issuer did MFA (`amr` holds `mfa`, `otp`, `hwk` or `swk`, RFC 8176). Otherwise the session is
 * `oidc` alone and, like a password-only staff session, holds only a customer's permissions
 * (`permissionsOf`): the person must sign in at the issuer with MFA (or the issuer must require it)
 * and come back. Comptoir's own TOTP does not step up an SSO session.
 */
import { and, eq } from 'drizzle-orm';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { appendAudit } from '../db/audit';
import { accounts, externalIdentities } from '../db/schema/identity';
import type { Config } from '../platform/config';
import type { Executor } from '../platform/postgres';
import { accountByEmail } from './accounts';
import { staffRoles } from './permissions';
import { startSession, type AuditOrigin, type IdentityDeps, type IssuedTokens } from './sessions';

/** Asymmetric algorithms only: a shared-secret (HS*) or `none` token is refused before any key is looked at. */
export const ssoAlgorithms = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];
/** RFC 8176 methods meaning the issuer checked a second factor. */
const issuerMfaMethods = new Set(['mfa', 'otp', 'hwk', 'swk']);
/**
 * An ID token is exchanged right after the issuer minted it. Refusing older ones (by `iat`) bounds how
 * long a token leaked from a browser history or a log can be replayed, whatever lifetime the issuer gives it.
 */
export const maxIdTokenAgeSeconds = 600;
const clockToleranceSeconds = 30;

export class SsoDisabled extends Error {
  override name = 'SsoDisabled';
}

/** The issuer's keys could not be fetched: not the caller's fault, retry later. */
export class SsoUnavailable extends Error {
  override name = 'SsoUnavailable';
}

/**
 * A refused sign-in. `status` 401: the ID token itself is not acceptable (its `message` is safe to
 * show); 403: the token is fine but names no staff account (the message stays generic, the `reason`
 * goes to the audit log only).
 */
export class SsoRejected extends Error {
  override name = 'SsoRejected';
  constructor(
    readonly status: 401 | 403,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StaffIdClaims {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  /** The issuer did MFA. */
  mfa: boolean;
}

export interface SsoSignIn {
  tokens: IssuedTokens;
  accountId: string;
  /** True when this sign-in linked the issuer's subject to the account. */
  linked: boolean;
  mfa: boolean;
}

type StaffOidcConfig = Pick<Config, 'STAFF_OIDC_ISSUER' | 'STAFF_OIDC_JWKS_URL' | 'STAFF_OIDC_AUDIENCE'>;

export const ssoEnabled = (config: StaffOidcConfig) => Boolean(config.STAFF_OIDC_ISSUER);

// One key set per JWKS URL for the process: jose caches the keys, refetches on an unknown kid at most
// every 30 s, so a flood of forged kids cannot turn into a flood of requests to the issuer.
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function keySet(url: string) {
  let keys = keySets.get(url);
  if (!keys) keySets.set(url, (keys = createRemoteJWKSet(new URL(url))));
  return keys;
}

const tokenFaults = new Set([
  joseErrors.JWSInvalid.code,
  joseErrors.JWTInvalid.code,
  joseErrors.JOSEAlgNotAllowed.code,
  joseErrors.JOSENotSupported.code,
  joseErrors.JWSSignatureVerificationFailed.code,
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
]);

/** Verifies an ID token from the staff issuer. Throws `SsoDisabled`, `SsoUnavailable` or `SsoRejected` (401). */
export async function verifyStaffIdToken(config: StaffOidcConfig, idToken: string): Promise<StaffIdClaims> {
  const { STAFF_OIDC_ISSUER: issuer, STAFF_OIDC_JWKS_URL: jwksUrl, STAFF_OIDC_AUDIENCE: audience } = config;
  if (!issuer || !jwksUrl || !audience) throw new SsoDisabled('staff single sign-on is not configured');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySet(jwksUrl), {
      issuer,
      audience,
      algorithms: ssoAlgorithms,
      requiredClaims: ['sub', 'iat', 'exp'],
      maxTokenAge: maxIdTokenAgeSeconds,
      clockTolerance: clockToleranceSeconds,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      // jose reports maxTokenAge as an expiry of `iat`.
      if (error.claim === 'iat') throw new SsoRejected(401, 'too_old', `The ID token was issued more than ${maxIdTokenAgeSeconds / 60} minutes ago; sign in again`);
      throw new SsoRejected(401, 'expired', 'The ID token has expired');
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new SsoRejected(401, `claim_${error.claim}`, `The ID token's ${error.claim} claim is not accepted (${error.reason})`);
    }
    if (error instanceof joseErrors.JOSEError && tokenFaults.has(error.code)) {
      throw new SsoRejected(401, 'signature', 'The ID token is not signed by the staff identity provider');
    }
    // The key set could not be fetched or read (timeout, connection refused, not 200, not a JWKS).
    throw new SsoUnavailable('the staff identity provider\'s keys cannot be fetched', { cause: error });
  }
  // OIDC Core §3.1.3.7: with several audiences, the token must have been issued to us (azp).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== audience) {
    throw new SsoRejected(401, 'claim_azp', 'The ID token was issued to another client (azp)');
  }
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((method): method is string => typeof method === 'string') : [];
  return {
    issuer,
    subject: payload.sub!,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    // Strictly the boolean: some issuers send "true" as a string, and a wrong guess here hands over an account.
    emailVerified: payload.email_verified === true,
    mfa: amr.some((method) => issuerMfaMethods.has(method)),
  };
}

async function linkedAccountId(db: Executor, issuer: string, subject: string): Promise<string | undefined> {
  const [row] = await db
    .select({ accountId: externalIdentities.accountId })
    .from(externalIdentities)
    .where(and(eq(externalIdentities.issuer, issuer), eq(externalIdentities.subject, subject)));
  return row?.accountId;
}

type Resolved = { accountId: string; linked: boolean } | { rejected: string; accountId?: string };

/**
 * The account an identity signs in as: the linked one, or (first sign-in) the staff account owning the
 * verified email, which gets linked. An account already linked to another subject of this issuer is
 * not re-linked: two IdP users sharing an address must not share an account.
 */
async function resolveAccount(tx: Executor, config: Pick<Config, 'pii'>, claims: StaffIdClaims): Promise<Resolved> {
  const existing = await linkedAccountId(tx, claims.issuer, claims.subject);
  if (existing) return { accountId: existing, linked: false };
  if (!claims.email) return { rejected: 'no_email' };
  if (!claims.emailVerified) return { rejected: 'email_not_verified' };
  const account = await accountByEmail(tx, config, claims.email);
  if (!account) return { rejected: 'no_account' };
  if (!staffRoles.has(account.role)) return { rejected: 'not_staff', accountId: account.id };
  const [other] = await tx
    .select({ subject: externalIdentities.subject })
    .from(externalIdentities)
    .where(and(eq(externalIdentities.accountId, account.id), eq(externalIdentities.issuer, claims.issuer)));
  if (other) return { rejected: 'linked_to_another_subject', accountId: account.id };
  const inserted = await tx
    .insert(externalIdentities)
    .values({ issuer: claims.issuer, subject: claims.subject, accountId: account.id })
    .onConflictDoNothing()
    .returning({ accountId: externalIdentities.accountId });
  // A concurrent first sign-in of the same subject linked it a moment ago: use that link.
  if (inserted.length === 0) {
    const raced = await linkedAccountId(tx, claims.issuer, claims.subject);
    return raced ? { accountId: raced, linked: false } : { rejected: 'link_race' };
  }
  return { accountId: account.id, linked: true };
}

/**
 * Exchanges a staff ID token for a Comptoir session. Every outcome past token verification is in the
 * audit log (`identity.sso_login`, `identity.sso_linked`, `identity.sso_failed`), the failures too:
 * they commit although the caller gets an error, hence results rather than throws inside the transaction.
 */
export async function signInWithSso(deps: IdentityDeps, idToken: string, origin: AuditOrigin): Promise<SsoSignIn> {
  let claims: StaffIdClaims;
  try {
    claims = await verifyStaffIdToken(deps.config, idToken);
  } catch (error) {
    if (error instanceof SsoRejected) {
      await appendAudit(deps.db, { actorType: 'anonymous', action: 'identity.sso_failed', details: { reason: error.reason }, ...origin });
    }
    throw error;
  }
  const outcome = await deps.db.transaction(async (tx): Promise<SsoSignIn | { rejected: string }> => {
    const resolved = await resolveAccount(tx, deps.config, claims);
    let rejected = 'rejected' in resolved ? resolved.rejected : undefined;
    const accountId = resolved.accountId;
    if (!rejected && accountId) {
      const [account] = await tx.select({ role: accounts.role, status: accounts.status }).from(accounts).where(eq(accounts.id, accountId));
      // A linked account may have been demoted or disabled since: SSO signs in active staff only.
      if (!account || account.status !== 'active') rejected = 'account_inactive';
      else if (!staffRoles.has(account.role)) rejected = 'not_staff';
    }
    const target = { targetType: 'account', targetId: accountId ?? null };
    if (rejected || !accountId) {
      const reason = rejected ?? 'no_account';
      await appendAudit(tx, { actorType: 'anonymous', action: 'identity.sso_failed', ...target, details: { reason, issuer: claims.issuer }, ...origin });
      return { rejected: reason };
    }
    const linked = 'linked' in resolved && resolved.linked;
    if (linked) {
      await appendAudit(tx, { actorType: 'account', actorId: accountId, action: 'identity.sso_linked', ...target, details: { issuer: claims.issuer }, ...origin });
    }
    const tokens = await startSession(deps, accountId, claims.mfa ? ['oidc', 'mfa'] : ['oidc'], tx);
    await appendAudit(tx, {
      actorType: 'account',
      actorId: accountId,
      action: 'identity.sso_login',
      ...target,
      details: { issuer: claims.issuer, mfa: claims.mfa, linked },
      ...origin,
    });
    return { tokens, accountId, linked, mfa: claims.mfa };
  });
  if ('rejected' in outcome) throw new SsoRejected(403, outcome.rejected, 'No active staff account is linked to this identity');
  return outcome;
}

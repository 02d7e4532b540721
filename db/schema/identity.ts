import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, char, check, index, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';

export const identity = pgSchema('identity');

/**
 * Every staff action and security event, appended and never changed: a trigger (migration 0007)
 * refuses UPDATE, DELETE and TRUNCATE, so not even a bug in our own code can rewrite history.
 */
export const auditLog = identity.table(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** Who acted: an account, a partner client, the platform itself, or nobody known yet (a failed login). */
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    /** What happened, as `domain.event`, e.g. `identity.login_failed`, `identity.role_changed`. */
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    requestId: text('request_id'),
    /** Facts about the event; never a secret, a token or personal data in clear. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    check('audit_log_actor_type', sql`${t.actorType} IN ('account', 'partner', 'system', 'anonymous')`),
    index('audit_log_occurred_at_idx').on(t.occurredAt),
    index('audit_log_actor_idx').on(t.actorId, t.occurredAt),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.occurredAt),
    index('audit_log_action_idx').on(t.action, t.occurredAt),
  ],
);

export const roles = ['customer', 'support', 'catalog_manager', 'ops', 'admin'] as const;
export type Role = (typeof roles)[number];
const roleList = sql.raw(roles.map((role) => `'${role}'`).join(', '));

/**
 * A person who signs in: a shopper or a member of staff. Personal data is encrypted (AES-256-GCM,
 * `platform/pii.ts`) with the row id bound in, and the email is found through a keyed hash; an erased
 * account keeps its id (orders refer to it) and loses everything else.
 */
export const accounts = identity.table(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** HMAC of the normalised email (`lookupHash`); null once erased. */
    emailHash: text('email_hash').unique(),
    emailEnc: text('email_enc'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, mode: 'date' }),
    /** scrypt, self-describing (`platform/passwords.ts`); null for staff who only sign in through the company's OpenID provider. */
    passwordHash: text('password_hash'),
    role: text('role').$type<Role>().notNull().default('customer'),
    status: text('status').$type<'active' | 'disabled' | 'erased'>().notNull().default('active'),
    givenNameEnc: text('given_name_enc'),
    familyNameEnc: text('family_name_enc'),
    phoneEnc: text('phone_enc'),
    /** BCP 47 tag, e.g. `fr-FR`. */
    language: text('language'),
    currency: char('currency', { length: 3 }),
    erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (t) => [
    check('accounts_role', sql`${t.role} IN (${roleList})`),
    check('accounts_status', sql`${t.status} IN ('active', 'disabled', 'erased')`),
    check('accounts_erased_has_no_email', sql`${t.status} <> 'erased' OR (${t.emailHash} IS NULL AND ${t.emailEnc} IS NULL)`),
  ],
);

/**
 * Single-use tokens mailed to the account holder (email verification, password reset). Only a SHA-256
 * of the token is stored: a database leak does not hand out working links.
 */
export const oneTimeTokens = identity.table(
  'one_time_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    purpose: text('purpose').$type<'verify_email' | 'reset_password'>().notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('one_time_tokens_purpose', sql`${t.purpose} IN ('verify_email', 'reset_password')`),
    index('one_time_tokens_account_idx').on(t.accountId, t.purpose),
  ],
);

/**
 * A signed-in device: the family of refresh tokens issued since one login. Access tokens carry its id
 * (`sid`), so revoking the session (logout, reuse of a rotated refresh token, erasure, role change)
 * cuts off the access tokens still in flight too.
 */
export const sessions = identity.table(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** How the person proved who they are (RFC 8176 `amr`): `pwd`, `otp`, `oidc`, `mfa`. */
    authMethods: text('auth_methods').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    revokedReason: text('revoked_reason'),
  },
  (t) => [index('sessions_account_idx').on(t.accountId)],
);

/** Opaque refresh tokens (stored as SHA-256). Each use replaces the token; presenting a replaced one revokes its session. */
export const refreshTokens = identity.table(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Set when the token was exchanged for the next one. */
    replacedAt: timestamp('replaced_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

/**
 * Keys signing access tokens. One is current; a replaced key keeps verifying until the last token it
 * signed has expired (`verifyUntil`), then leaves the JWKS. The private half is encrypted with the PII
 * keyring, bound to its kid.
 */
export const signingKeys = identity.table(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    privateJwkEnc: text('private_jwk_enc').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * When it starts signing. A rotated-in key is published (JWKS, every process's key cache) a while
     * before it signs, so no verifier ever meets a token under a key it has not loaded yet.
     */
    signsFrom: timestamp('signs_from', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** When the next key took over; null for the newest key. */
    retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date' }),
    verifyUntil: timestamp('verify_until', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('signing_keys_one_current').on(sql`(true)`).where(sql`${t.retiredAt} IS NULL`)],
);

/** TOTP second factor. The secret is encrypted; `lastStep` refuses a code replayed within its 30 s window. */
export const totpFactors = identity.table('totp_factors', {
  accountId: uuid('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  secretEnc: text('secret_enc').notNull(),
  /** Null while enrolment waits for the first valid code. */
  confirmedAt: timestamp('confirmed_at', { withTimezone: true, mode: 'date' }),
  lastStep: bigint('last_step', { mode: 'number' }),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** One-time recovery codes for a lost authenticator, stored as SHA-256. */
export const recoveryCodes = identity.table(
  'recovery_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('recovery_codes_account_idx').on(t.accountId)],
);

/** Machines: payment provider, carriers, suppliers. OAuth 2 client credentials with a scrypt-hashed secret and the scopes granted. */
export const partnerClients = identity.table('partner_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
});

/** Staff who sign in through the company's OpenID Connect issuer: which (issuer, subject) is which account. */
export const externalIdentities = identity.table(
  'external_identities',
  {
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.subject] }), index('external_identities_account_idx').on(t.accountId)],
);

/** Postal addresses; the whole address is one encrypted JSON value, only the country stays in clear (tax and shipping zones). */
export const addresses = identity.table(
  'addresses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    country: char('country', { length: 2 }).notNull(),
    detailsEnc: text('details_enc').notNull(),
    isDefaultShipping: boolean('is_default_shipping').notNull().default(false),
    isDefaultBilling: boolean('is_default_billing').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    index('addresses_account_idx').on(t.accountId),
    // One default of each kind per person, as a rule of the database and not only of the code that sets it.
    uniqueIndex('addresses_one_default_shipping').on(t.accountId).where(sql`${t.isDefaultShipping}`),
    uniqueIndex('addresses_one_default_billing').on(t.accountId).where(sql`${t.isDefaultBilling}`),
  ],
);

export const consentChannels = ['email', 'sms', 'push'] as const;
export type ConsentChannel = (typeof consentChannels)[number];

/**
 * Marketing consent, as the history of every grant and withdrawal with its time: the current answer per
 * channel is the latest row. Campaigns read it; a regulator may ask for the history.
 */
export const consentEvents = identity.table(
  'consent_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    channel: text('channel').$type<ConsentChannel>().notNull(),
    granted: boolean('granted').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('consent_events_channel', sql`${t.channel} IN ('email', 'sms', 'push')`),
    index('consent_events_account_idx').on(t.accountId, t.channel, t.occurredAt),
  ],
);

/** Erasure requests: the workflow does the work; this row answers "was it asked, and is it done" after the person is gone. */
export const erasureRequests = identity.table('erasure_requests', {
  accountId: uuid('account_id').primaryKey(),
  workflowId: text('workflow_id').notNull(),
  requestedAt: timestamp('requested_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
});

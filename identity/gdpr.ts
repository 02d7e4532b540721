/**
 * The GDPR registry: every domain that holds personal data says here how to export it (right of
 * access, art. 15 and 20) and how to erase it (art. 17). `GET /v1/me/export` runs every exporter;
 * the `gdprErasure` workflow revokes the sessions, then runs every eraser as its own activity.
 *
 * A new domain that stores anything about a person adds its entry to `personalDataDomains`. Orders,
 * invoices and payments (issue 6 onwards) will plug in here: their erasers must keep the financial
 * facts (amounts, dates, tax, the pseudonymous account id) and drop the personal data (names, postal
 * addresses, phone, email copies), because accounting law requires the former to be kept. Until those
 * tables exist there is nothing of theirs to erase, so no entry is made up for them.
 *
 * Erasers are idempotent: each changes only what still holds something and reports how much it changed,
 * so an erasure interrupted at any point is finished by running it again, and a second run reports 0.
 */
import {
  accountRow,
  auditRowsAbout,
  deleteIdentityRows,
  externalIdentityRows,
  oneTimeTokenRows,
  outboxRowsOf,
  sessionRows,
  totpStatus,
  wipeAccountRow,
  wipeOutboxRows,
} from '../db/identity/gdpr';
import type { Config } from '../platform/config';
import { deleteIdempotencyKeysOfScope } from '../db/idempotency';
import { eraseOrders, exportOrders } from '../orders/gdpr';
import { eraseInvoices, exportInvoices } from '../invoicing/gdpr';
import { decryptPii } from '../platform/pii';
import type { Database } from '../platform/postgres';
import { listAddresses } from './addresses';
import { consentHistory, currentConsents, type ConsentEvent } from './consents';
import { piiFields } from './pii-fields';
import { revokeAccountSessions } from './sessions';
import { inAppMessagesOf } from '../db/notifications';
import { inAppView } from '../notifications/in-app';
import { preferencesOf } from '../notifications/preferences';

export interface PersonalDataDomain {
  /** Stable: erasure workflow histories record it. */
  readonly domain: string;
  /** Everything this domain holds about the person, as JSON-ready values (dates become ISO strings). */
  export(db: Database, config: Config, accountId: string): Promise<Record<string, unknown>>;
  /** Removes the person's personal data; idempotent. Returns how many rows it changed (0 when there was nothing left). */
  erase(db: Database, config: Config, accountId: string): Promise<number>;
}

export const gdprErasureWorkflowType = 'gdprErasure';
/** One erasure per person: a second request while one runs finds the same workflow. */
export const gdprErasureWorkflowId = (prefix: string, accountId: string) => `${prefix}gdpr-erasure-${accountId}`;

const decryptOrNull = (config: Config, value: string | null, context: string) => (value === null ? null : decryptPii(config.pii.keyring, value, context));

async function allConsentEvents(db: Database, accountId: string): Promise<ConsentEvent[]> {
  const events: ConsentEvent[] = [];
  let before: number | undefined;
  do {
    const page = await consentHistory(db, accountId, { limit: 1000, before });
    events.push(...page.events);
    before = page.next;
  } while (before !== undefined);
  return events;
}

/** Accounts, credentials, addresses, consents, sessions and second factors. */
export const identityDomain: PersonalDataDomain = {
  domain: 'identity',
  async export(db, config, accountId) {
    const account = await accountRow(db, accountId);
    if (!account) return {};
    const [addresses, consents, history, sessions, mfa, externalIdentities, emailLinks] = await Promise.all([
      listAddresses(db, config, accountId),
      currentConsents(db, accountId),
      allConsentEvents(db, accountId),
      sessionRows(db, accountId),
      totpStatus(db, accountId),
      externalIdentityRows(db, accountId),
      oneTimeTokenRows(db, accountId),
    ]);
    return {
      account: {
        id: account.id,
        email: decryptOrNull(config, account.emailEnc, piiFields.accountEmail.context(account.id)),
        emailVerifiedAt: account.emailVerifiedAt,
        givenName: decryptOrNull(config, account.givenNameEnc, piiFields.accountGivenName.context(account.id)),
        familyName: decryptOrNull(config, account.familyNameEnc, piiFields.accountFamilyName.context(account.id)),
        phone: decryptOrNull(config, account.phoneEnc, piiFields.accountPhone.context(account.id)),
        language: account.language,
        currency: account.currency,
        role: account.role,
        status: account.status,
        hasPassword: account.passwordHash !== null,
        createdAt: account.createdAt,
        updatedAt: account.updatedAt,
      },
      mfa: {
        enabled: mfa.factor?.confirmedAt != null,
        enrolledAt: mfa.factor?.createdAt ?? null,
        confirmedAt: mfa.factor?.confirmedAt ?? null,
        recoveryCodes: mfa.recoveryCodes,
      },
      addresses,
      consents: { current: consents, history },
      sessions,
      externalIdentities,
      emailLinks,
    };
  },
  async erase(db, _config, accountId) {
    return db.transaction(async (tx) => {
      // Again here, not only in the workflow's first step: a sign-in that slipped in between is cut off too.
      const revoked = await revokeAccountSessions(tx, accountId, 'erasure');
      const wiped = await wipeAccountRow(tx, accountId);
      // Sessions stay, revoked: they hold no personal data and keep the access tokens in flight refused.
      return revoked + (wiped ? 1 : 0) + (await deleteIdentityRows(tx, accountId));
    });
  },
};

/** Messages to the person (the outbox is written by identity and delivered on the identity task queue). */
export const notificationsDomain: PersonalDataDomain = {
  domain: 'notifications',
  async export(db, _config, accountId) {
    return {
      messages: (await outboxRowsOf(db, accountId)).map(({ template, channel, createdAt, deliveredAt }) => ({ template, channel, createdAt, deliveredAt })),
      inAppMessages: (await inAppMessagesOf(db, accountId, 10_000)).map(inAppView),
      preferences: await preferencesOf(db, accountId),
    };
  },
  erase: (db, _config, accountId) => wipeOutboxRows(db, accountId),
};

/**
 * The audit log is exported but never erased. It is append-only (the database refuses UPDATE and
 * DELETE) and is kept as the security log under legitimate interest (GDPR art. 6(1)(f), recital 49):
 * it holds the pseudonymous account id, the action, and the IP address and request id of each event,
 * never an email, a name or a token, so once the account is erased nothing in it names the person.
 */
export const auditDomain: PersonalDataDomain = {
  domain: 'audit',
  async export(db, _config, accountId) {
    const events = await auditRowsAbout(db, accountId);
    return {
      events: events.map((event) => ({
        occurredAt: event.occurredAt,
        action: event.action,
        byYou: event.actorType === 'account' && event.actorId === accountId,
        actorType: event.actorType,
        targetType: event.targetType,
        targetId: event.targetId,
        ip: event.ip,
        requestId: event.requestId,
        details: event.details,
      })),
    };
  },
  erase: async () => 0,
};

/** Orders keep their financial facts; the shipping address and the carts go (orders/gdpr.ts). */
export const ordersDomain: PersonalDataDomain = {
  domain: 'orders',
  export: (db, config, accountId) => exportOrders(db, config, accountId),
  erase: (db, _config, accountId) => eraseOrders(db, accountId),
};

/**
 * Invoices and credit notes are legal records (invoicing/gdpr.ts): their financial facts are kept, and the
 * encrypted buyer block is kept until the retention period ends, then erased.
 */
export const invoicingDomain: PersonalDataDomain = {
  domain: 'invoicing',
  export: (db, config, accountId) => exportInvoices(db, config, accountId),
  erase: (db, _config, accountId) => eraseInvoices(db, accountId),
};

/** Stored answers of `Idempotency-Key` requests (they may echo an address back), kept 24 h at most anyway. */
export const idempotencyDomain: PersonalDataDomain = {
  domain: 'idempotency',
  // Encrypted replays of the person's own requests, gone within a day: nothing to show that the other domains do not.
  export: async () => ({}),
  erase: (db, _config, accountId) => deleteIdempotencyKeysOfScope(db, `account:${accountId}`),
};

/** In erasure order: identity first, so the person can no longer sign in while the rest is erased. */
export const personalDataDomains: readonly PersonalDataDomain[] = [identityDomain, notificationsDomain, ordersDomain, invoicingDomain, idempotencyDomain, auditDomain];

export function personalDataDomain(name: string): PersonalDataDomain | undefined {
  return personalDataDomains.find((entry) => entry.domain === name);
}

export interface PersonalDataExport {
  format: 'comptoir.personal-data.v1';
  exportedAt: Date;
  accountId: string;
  domains: Record<string, Record<string, unknown>>;
}

export async function exportPersonalData(db: Database, config: Config, accountId: string): Promise<PersonalDataExport> {
  const parts = await Promise.all(personalDataDomains.map(async (entry) => [entry.domain, await entry.export(db, config, accountId)] as const));
  return { format: 'comptoir.personal-data.v1', exportedAt: new Date(), accountId, domains: Object.fromEntries(parts) };
}

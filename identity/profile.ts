/**
 * A person's profile and preferences. Names and phone are personal data, encrypted at rest with the
 * contexts of `pii-fields.ts`; they are decrypted only to answer the person themselves (or the export)
 * and are never logged.
 */
import { lockAccount, mfaEnabled, profileRow, updateProfileRow, type ProfileColumns } from '../db/identity/profile';
import type { Role } from '../db/schema/identity';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import { piiFields } from './pii-fields';

export interface Profile {
  id: string;
  /** Changed only through the verified email-change flow, never by PATCH. */
  email: string | null;
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  phone: string | null;
  language: string | null;
  currency: string | null;
  role: Role;
  mfaEnabled: boolean;
  createdAt: Date;
}

/** What PATCH may change; `null` clears a value, an absent key leaves it as it is. */
export interface ProfileChanges {
  givenName?: string | null;
  familyName?: string | null;
  phone?: string | null;
  language?: string | null;
  currency?: string | null;
}

/** The account was erased (or removed) while a request of its still-valid token was on its way. */
export class AccountGone extends Error {
  override name = 'AccountGone';
}

/** Locks the account row for a read-then-write on the person's data; refuses an erased account. */
export async function lockLiveAccount(tx: Executor, accountId: string): Promise<void> {
  const status = await lockAccount(tx, accountId);
  if (status === undefined || status === 'erased') throw new AccountGone('no such account');
}

export const nameMaxLength = 100;

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
export const e164Pattern = /^\+[1-9]\d{1,14}$/;

/**
 * BCP 47, restricted to what a shop can act on: a language with an optional script and region
 * (`fr`, `fr-CA`, `zh-Hant-TW`, `es-419`); extensions and private-use tags are refused.
 */
export const languagePattern = /^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|\d{3}))?$/;

export function isLanguageTag(value: string): boolean {
  if (!languagePattern.test(value)) return false;
  try {
    Intl.getCanonicalLocales(value);
    return true;
  } catch {
    return false;
  }
}

/** `fr-fr` → `fr-FR`: stored in one spelling so that comparisons (templates, campaigns) need no care. */
export function canonicalLanguage(value: string): string {
  return Intl.getCanonicalLocales(value)[0]!;
}

// ICU's list of ISO 4217 codes in use today: withdrawn currencies (FRF, DEM) are refused.
const currencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

export function isCurrencyCode(value: string): boolean {
  return currencies.has(value);
}

const decryptOrNull = (config: Pick<Config, 'pii'>, value: string | null, context: string) => (value === null ? null : decryptPii(config.pii.keyring, value, context));

export async function readProfile(db: Executor, config: Pick<Config, 'pii'>, accountId: string): Promise<Profile | undefined> {
  const [row, mfa] = await Promise.all([profileRow(db, accountId), mfaEnabled(db, accountId)]);
  if (!row || row.status === 'erased') return undefined;
  return {
    id: row.id,
    email: decryptOrNull(config, row.emailEnc, piiFields.accountEmail.context(row.id)),
    emailVerified: row.emailVerifiedAt !== null,
    givenName: decryptOrNull(config, row.givenNameEnc, piiFields.accountGivenName.context(row.id)),
    familyName: decryptOrNull(config, row.familyNameEnc, piiFields.accountFamilyName.context(row.id)),
    phone: decryptOrNull(config, row.phoneEnc, piiFields.accountPhone.context(row.id)),
    language: row.language,
    currency: row.currency,
    role: row.role,
    mfaEnabled: mfa,
    createdAt: row.createdAt,
  };
}

/** Applies the changes (already validated by the caller's schema) and returns the new profile; undefined when there is no such account. */
export async function updateProfile(db: Executor, config: Pick<Config, 'pii'>, accountId: string, changes: ProfileChanges): Promise<Profile | undefined> {
  const encrypt = (value: string | null | undefined, context: string) =>
    value === undefined ? undefined : value === null ? null : encryptPii(config.pii.keyring, value, context);
  const values: ProfileColumns = {
    givenNameEnc: encrypt(changes.givenName, piiFields.accountGivenName.context(accountId)),
    familyNameEnc: encrypt(changes.familyName, piiFields.accountFamilyName.context(accountId)),
    phoneEnc: encrypt(changes.phone, piiFields.accountPhone.context(accountId)),
    language: changes.language === undefined || changes.language === null ? changes.language : canonicalLanguage(changes.language),
    currency: changes.currency,
  };
  // Drizzle would write `undefined` as "leave unchanged" anyway; dropping the keys keeps the intent visible.
  const set = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as ProfileColumns;
  if (Object.keys(set).length > 0 && !(await updateProfileRow(db, accountId, set))) return undefined;
  return readProfile(db, config, accountId);
}

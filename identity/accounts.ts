import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { accounts, type Role } from '../db/schema/identity';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii, lookupHash, normaliseEmail } from '../platform/pii';
import type { Executor } from '../platform/postgres';
import { piiFields } from './pii-fields';

export interface NewAccount {
  email: string;
  role?: Role;
  /** Already hashed (`hashPassword`); omitted for staff who only use single sign-on. */
  passwordHash?: string | null;
  emailVerified?: boolean;
}

/** Inserts an account with its email encrypted and hashed for lookup. Throws on a duplicate email (unique violation). */
export async function insertAccount(db: Executor, config: Pick<Config, 'pii'>, account: NewAccount): Promise<string> {
  const id = randomUUID();
  await db.insert(accounts).values({
    id,
    emailHash: emailLookupHash(config, account.email),
    emailEnc: encryptPii(config.pii.keyring, normaliseEmail(account.email), piiFields.accountEmail.context(id)),
    passwordHash: account.passwordHash ?? null,
    role: account.role ?? 'customer',
    emailVerifiedAt: account.emailVerified ? new Date() : null,
  });
  return id;
}

export function emailLookupHash(config: Pick<Config, 'pii'>, email: string): string {
  return lookupHash(config.pii.lookupKey, email);
}

export async function accountByEmail(db: Executor, config: Pick<Config, 'pii'>, email: string) {
  const [row] = await db.select().from(accounts).where(eq(accounts.emailHash, emailLookupHash(config, email)));
  return row;
}

export function decryptEmail(config: Pick<Config, 'pii'>, account: { id: string; emailEnc: string | null }): string | undefined {
  return account.emailEnc ? decryptPii(config.pii.keyring, account.emailEnc, piiFields.accountEmail.context(account.id)) : undefined;
}

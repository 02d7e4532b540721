import { and, asc, desc, eq, gt, isNotNull, lt, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { accounts, addresses, consentEvents, totpFactors, type ConsentChannel } from '../schema/identity';

/** The columns a person's profile is made of, still encrypted. */
export async function profileRow(db: Executor, accountId: string) {
  const [row] = await db
    .select({
      id: accounts.id,
      emailEnc: accounts.emailEnc,
      emailVerifiedAt: accounts.emailVerifiedAt,
      givenNameEnc: accounts.givenNameEnc,
      familyNameEnc: accounts.familyNameEnc,
      phoneEnc: accounts.phoneEnc,
      language: accounts.language,
      currency: accounts.currency,
      role: accounts.role,
      status: accounts.status,
      createdAt: accounts.createdAt,
    })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return row;
}

export type ProfileRow = NonNullable<Awaited<ReturnType<typeof profileRow>>>;

/** MFA counts as enabled once enrolment was confirmed with a first valid code; a pending enrolment does not. */
export async function mfaEnabled(db: Executor, accountId: string): Promise<boolean> {
  const [row] = await db
    .select({ accountId: totpFactors.accountId })
    .from(totpFactors)
    .where(and(eq(totpFactors.accountId, accountId), isNotNull(totpFactors.confirmedAt)));
  return row !== undefined;
}

export type ProfileColumns = Partial<Pick<typeof accounts.$inferInsert, 'givenNameEnc' | 'familyNameEnc' | 'phoneEnc' | 'language' | 'currency'>>;

export async function updateProfileRow(db: Executor, accountId: string, values: ProfileColumns): Promise<boolean> {
  const rows = await db
    .update(accounts)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(accounts.id, accountId), ne(accounts.status, 'erased')))
    .returning({ id: accounts.id });
  return rows.length > 0;
}

/**
 * Serialises writes to one person's address book and consents: "at most one default address" and
 * "append a consent event only when it changes the answer" are read-then-write rules. NO KEY UPDATE
 * leaves foreign-key checks (a new session, a new address) unblocked. Returns the account's status, so
 * a write racing an erasure sees it erased (the eraser holds the same row lock while it works).
 */
export async function lockAccount(tx: Executor, accountId: string): Promise<ProfileRow['status'] | undefined> {
  const [row] = await tx.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, accountId)).for('no key update');
  return row?.status;
}

// — addresses

export type AddressRow = typeof addresses.$inferSelect;

export function addressRows(db: Executor, accountId: string): Promise<AddressRow[]> {
  return db.select().from(addresses).where(eq(addresses.accountId, accountId)).orderBy(asc(addresses.createdAt), asc(addresses.id));
}

/** The address only when it belongs to `accountId`: someone else's id reads exactly like one that does not exist. */
export async function ownedAddressRow(db: Executor, accountId: string, id: string): Promise<AddressRow | undefined> {
  const [row] = await db.select().from(addresses).where(and(eq(addresses.id, id), eq(addresses.accountId, accountId)));
  return row;
}

export async function countAddresses(db: Executor, accountId: string): Promise<number> {
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(addresses).where(eq(addresses.accountId, accountId));
  return row?.count ?? 0;
}

export async function insertAddressRow(tx: Executor, values: typeof addresses.$inferInsert): Promise<AddressRow> {
  const [row] = await tx.insert(addresses).values(values).returning();
  return row!;
}

export async function updateAddressRow(
  tx: Executor,
  accountId: string,
  id: string,
  values: Partial<Pick<AddressRow, 'country' | 'detailsEnc' | 'isDefaultShipping' | 'isDefaultBilling'>>,
): Promise<AddressRow | undefined> {
  const [row] = await tx
    .update(addresses)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(addresses.id, id), eq(addresses.accountId, accountId)))
    .returning();
  return row;
}

export async function deleteAddressRow(tx: Executor, accountId: string, id: string): Promise<boolean> {
  const rows = await tx.delete(addresses).where(and(eq(addresses.id, id), eq(addresses.accountId, accountId))).returning({ id: addresses.id });
  return rows.length > 0;
}

/** Takes the default of one kind away from every other address of the account. */
export async function clearDefault(tx: Executor, accountId: string, kind: 'shipping' | 'billing', exceptId: string): Promise<void> {
  const column = kind === 'shipping' ? addresses.isDefaultShipping : addresses.isDefaultBilling;
  await tx
    .update(addresses)
    .set(kind === 'shipping' ? { isDefaultShipping: false, updatedAt: sql`now()` } : { isDefaultBilling: false, updatedAt: sql`now()` })
    .where(and(eq(addresses.accountId, accountId), ne(addresses.id, exceptId), eq(column, true)));
}

// — consents

export type ConsentEventRow = typeof consentEvents.$inferSelect;

/** The latest event per channel: the current answer. Ties in time are broken by insertion order. */
export function latestConsentRows(db: Executor, accountId: string): Promise<ConsentEventRow[]> {
  return db
    .selectDistinctOn([consentEvents.channel])
    .from(consentEvents)
    .where(eq(consentEvents.accountId, accountId))
    .orderBy(consentEvents.channel, desc(consentEvents.occurredAt), desc(consentEvents.id));
}

export async function insertConsentEvent(tx: Executor, accountId: string, channel: ConsentChannel, granted: boolean): Promise<ConsentEventRow> {
  const [row] = await tx.insert(consentEvents).values({ accountId, channel, granted }).returning();
  return row!;
}

/** Newest first, keyset-paginated on the event id. */
export function consentEventRows(db: Executor, accountId: string, page: { limit: number; before?: number }): Promise<ConsentEventRow[]> {
  return db
    .select()
    .from(consentEvents)
    .where(and(eq(consentEvents.accountId, accountId), page.before === undefined ? undefined : lt(consentEvents.id, page.before)))
    .orderBy(desc(consentEvents.id))
    .limit(page.limit);
}

/**
 * Active accounts whose latest answer on `channel` is a grant, in account-id order from `after`.
 * An account never asked has no event and is not included: marketing consent is opt-in.
 */
export async function consentingAccountIds(db: Executor, channel: ConsentChannel, page: { after?: string; limit: number }): Promise<string[]> {
  const latest = db
    .selectDistinctOn([consentEvents.accountId], { accountId: consentEvents.accountId, granted: consentEvents.granted })
    .from(consentEvents)
    .where(and(eq(consentEvents.channel, channel), page.after === undefined ? undefined : gt(consentEvents.accountId, page.after)))
    .orderBy(consentEvents.accountId, desc(consentEvents.occurredAt), desc(consentEvents.id))
    .as('latest');
  const rows = await db
    .select({ accountId: latest.accountId })
    .from(latest)
    .innerJoin(accounts, eq(accounts.id, latest.accountId))
    .where(and(eq(latest.granted, true), eq(accounts.status, 'active')))
    .orderBy(asc(latest.accountId))
    .limit(page.limit);
  return rows.map((row) => row.accountId);
}

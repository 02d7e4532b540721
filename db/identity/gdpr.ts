import { and, asc, eq, inArray, isNotNull, isNull, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/postgres';
import { inAppMessages, notificationOutbox, notificationPreferences } from '../schema/notifications';
import {
  accounts,
  addresses,
  auditLog,
  consentEvents,
  erasureRequests,
  externalIdentities,
  oneTimeTokens,
  recoveryCodes,
  refreshTokens,
  sessions,
  totpFactors,
} from '../schema/identity';

// — erasure requests

export type ErasureRequestRow = typeof erasureRequests.$inferSelect;

/** Records the request once; true when this call recorded it (a repeated request finds it already there). */
export async function insertErasureRequest(db: Executor, accountId: string, workflowId: string): Promise<boolean> {
  const rows = await db.insert(erasureRequests).values({ accountId, workflowId }).onConflictDoNothing().returning({ accountId: erasureRequests.accountId });
  return rows.length > 0;
}

export async function erasureRequest(db: Executor, accountId: string): Promise<ErasureRequestRow | undefined> {
  const [row] = await db.select().from(erasureRequests).where(eq(erasureRequests.accountId, accountId));
  return row;
}

/** Erasure requests not completed yet, oldest first. */
export function pendingErasureRequests(db: Executor): Promise<ErasureRequestRow[]> {
  return db.select().from(erasureRequests).where(isNull(erasureRequests.completedAt)).orderBy(asc(erasureRequests.requestedAt));
}

/**
 * Marks the request completed, once: true only for the call that set `completed_at`. A request row
 * missing (a workflow started by hand) is recorded on the way.
 */
export async function completeErasureRequest(db: Executor, accountId: string, workflowId: string): Promise<boolean> {
  const rows = await db
    .insert(erasureRequests)
    .values({ accountId, workflowId, completedAt: sql`now()` })
    .onConflictDoUpdate({ target: erasureRequests.accountId, set: { completedAt: sql`now()` }, setWhere: isNull(erasureRequests.completedAt) })
    .returning({ accountId: erasureRequests.accountId });
  return rows.length > 0;
}

// — what the export reads

export async function accountRow(db: Executor, accountId: string) {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, accountId));
  return row;
}

export function sessionRows(db: Executor, accountId: string) {
  return db
    .select({
      id: sessions.id,
      authMethods: sessions.authMethods,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      revokedAt: sessions.revokedAt,
      revokedReason: sessions.revokedReason,
    })
    .from(sessions)
    .where(eq(sessions.accountId, accountId))
    .orderBy(asc(sessions.createdAt), asc(sessions.id));
}

/** The second factor's state, never its secret. */
export async function totpStatus(db: Executor, accountId: string) {
  const [factor] = await db.select({ createdAt: totpFactors.createdAt, confirmedAt: totpFactors.confirmedAt }).from(totpFactors).where(eq(totpFactors.accountId, accountId));
  const [codes] = await db
    .select({ total: sql<number>`count(*)::int`, unused: sql<number>`(count(*) FILTER (WHERE ${recoveryCodes.usedAt} IS NULL))::int` })
    .from(recoveryCodes)
    .where(eq(recoveryCodes.accountId, accountId));
  return { factor, recoveryCodes: codes ?? { total: 0, unused: 0 } };
}

export function externalIdentityRows(db: Executor, accountId: string) {
  return db
    .select({ issuer: externalIdentities.issuer, subject: externalIdentities.subject, createdAt: externalIdentities.createdAt })
    .from(externalIdentities)
    .where(eq(externalIdentities.accountId, accountId))
    .orderBy(asc(externalIdentities.createdAt));
}

/** Links mailed to the person (verification, reset): when and what for, never the token. */
export function oneTimeTokenRows(db: Executor, accountId: string) {
  return db
    .select({ purpose: oneTimeTokens.purpose, createdAt: oneTimeTokens.createdAt, expiresAt: oneTimeTokens.expiresAt, usedAt: oneTimeTokens.usedAt })
    .from(oneTimeTokens)
    .where(eq(oneTimeTokens.accountId, accountId))
    .orderBy(asc(oneTimeTokens.createdAt));
}

/** Audit events the person caused or that are about their account, oldest first. */
export function auditRowsAbout(db: Executor, accountId: string) {
  return db
    .select()
    .from(auditLog)
    .where(or(and(eq(auditLog.actorType, 'account'), eq(auditLog.actorId, accountId)), and(eq(auditLog.targetType, 'account'), eq(auditLog.targetId, accountId))))
    .orderBy(asc(auditLog.id));
}

/** Messages to the person: what and when, never the recipient or content (a reset link is a live secret). */
export function outboxRowsOf(db: Executor, accountId: string) {
  return db
    .select({ id: notificationOutbox.id, template: notificationOutbox.template, channel: notificationOutbox.channel, createdAt: notificationOutbox.createdAt, deliveredAt: notificationOutbox.deliveredAt })
    .from(notificationOutbox)
    .where(eq(notificationOutbox.accountId, accountId))
    .orderBy(asc(notificationOutbox.id));
}

// — erasure. Each statement touches only rows that still hold something, so a second run changes nothing.

/**
 * Wipes the account row: the id stays (orders and the audit log refer to it, and it means nothing
 * without the rest), every personal column goes. True when something was still there to wipe.
 */
export async function wipeAccountRow(db: Executor, accountId: string): Promise<boolean> {
  const rows = await db
    .update(accounts)
    .set({
      emailHash: null,
      emailEnc: null,
      emailVerifiedAt: null,
      passwordHash: null,
      givenNameEnc: null,
      familyNameEnc: null,
      phoneEnc: null,
      language: null,
      currency: null,
      status: 'erased',
      erasedAt: sql`coalesce(${accounts.erasedAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(accounts.id, accountId),
        or(
          ne(accounts.status, 'erased'),
          isNull(accounts.erasedAt),
          ...[accounts.emailHash, accounts.emailEnc, accounts.emailVerifiedAt, accounts.passwordHash, accounts.givenNameEnc, accounts.familyNameEnc, accounts.phoneEnc, accounts.language, accounts.currency].map(
            (column) => isNotNull(column),
          ),
        ),
      ),
    )
    .returning({ id: accounts.id });
  return rows.length > 0;
}

/** Deletes the account's rows in the identity tables that only hold personal data or credentials; returns how many went. */
export async function deleteIdentityRows(db: Executor, accountId: string): Promise<number> {
  // One statement after another: inside a transaction they share one connection anyway.
  const deletions = [
    () => db.delete(addresses).where(eq(addresses.accountId, accountId)).returning({ id: addresses.id }),
    () => db.delete(consentEvents).where(eq(consentEvents.accountId, accountId)).returning({ id: consentEvents.id }),
    () => db.delete(totpFactors).where(eq(totpFactors.accountId, accountId)).returning({ id: totpFactors.accountId }),
    () => db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, accountId)).returning({ id: recoveryCodes.codeHash }),
    () => db.delete(oneTimeTokens).where(eq(oneTimeTokens.accountId, accountId)).returning({ id: oneTimeTokens.id }),
    () => db.delete(externalIdentities).where(eq(externalIdentities.accountId, accountId)).returning({ id: externalIdentities.subject }),
    () =>
      db
        .delete(refreshTokens)
        .where(inArray(refreshTokens.sessionId, db.select({ id: sessions.id }).from(sessions).where(eq(sessions.accountId, accountId))))
        .returning({ id: refreshTokens.tokenHash }),
  ];
  let deleted = 0;
  for (const deletion of deletions) deleted += (await deletion()).length;
  return deleted;
}

/**
 * Messages to the person: pending ones are deleted (they would be sent to an address that must be
 * forgotten), delivered ones keep only what was sent when. Returns the rows changed.
 */
export async function wipeOutboxRows(db: Executor, accountId: string): Promise<number> {
  const deleted = await db
    .delete(notificationOutbox)
    .where(and(eq(notificationOutbox.accountId, accountId), isNull(notificationOutbox.deliveredAt)))
    .returning({ id: notificationOutbox.id });
  const wiped = await db
    .update(notificationOutbox)
    .set({ recipientEnc: null, payloadEnc: null, lastError: null })
    .where(
      and(
        eq(notificationOutbox.accountId, accountId),
        or(isNotNull(notificationOutbox.recipientEnc), isNotNull(notificationOutbox.payloadEnc), isNotNull(notificationOutbox.lastError)),
      ),
    )
    .returning({ id: notificationOutbox.id });
  // In-app messages and channel choices are the person's own: they go entirely.
  const inApp = await db.delete(inAppMessages).where(eq(inAppMessages.accountId, accountId)).returning({ id: inAppMessages.id });
  const preferences = await db.delete(notificationPreferences).where(eq(notificationPreferences.accountId, accountId)).returning({ channel: notificationPreferences.channel });
  return deleted.length + wiped.length + inApp.length + preferences.length;
}

/**
 * Campaigns in Postgres: their definitions, and one delivery row per recipient ever
 * (`marketing.campaign_deliveries`, primary key (campaign, account)). A run snapshots its audience into
 * `pending` rows, then settles them batch by batch; every function here that a run calls can be called
 * again after a crash and finds what the first call did.
 *
 * The audience is read across domains (identity accounts and consents, orders, segments) in one query:
 * a keyset page over accounts must filter in the database, or a campaign would page through every
 * customer in the application.
 */
import { and, asc, count, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { consentChannelOf, paidOrderStatuses, type AudienceFilter } from '../campaigns/audience';
import { assignVariant } from '../campaigns/variants';
import { countOutcomes, type ProgressCounts } from '../campaigns/progress';
import type { Executor } from '../platform/postgres';
import { campaignDeliveries, campaigns, type CampaignChannel, type CampaignStatus, type CampaignVariant, type DeliveryStatus } from './schema/campaigns';
import { accounts, consentEvents } from './schema/identity';

export type CampaignRow = typeof campaigns.$inferSelect;
export type NewCampaignRow = typeof campaigns.$inferInsert;
export type DeliveryRow = typeof campaignDeliveries.$inferSelect;

// — definitions

export async function insertCampaign(db: Executor, values: NewCampaignRow): Promise<CampaignRow> {
  const [row] = await db.insert(campaigns).values(values).returning();
  return row!;
}

export async function campaignById(db: Executor, id: string): Promise<CampaignRow | undefined> {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  return row;
}

/** The row, locked for this transaction: launch, pause, resume, cancel and a run's start serialise on it. */
export async function lockCampaign(tx: Executor, id: string): Promise<CampaignRow | undefined> {
  const [row] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
  return row;
}

/** Changes a draft; undefined when there is no such campaign or it is no longer a draft. */
export async function updateDraftCampaign(db: Executor, id: string, values: Partial<NewCampaignRow>): Promise<CampaignRow | undefined> {
  const [row] = await db
    .update(campaigns)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(campaigns.id, id), eq(campaigns.status, 'draft')))
    .returning();
  return row;
}

export async function listCampaigns(db: Executor, options: { limit: number; after?: string; status?: CampaignStatus }): Promise<CampaignRow[]> {
  return db
    .select()
    .from(campaigns)
    .where(and(options.after ? sql`${campaigns.id} > ${options.after}` : undefined, options.status ? eq(campaigns.status, options.status) : undefined))
    .orderBy(asc(campaigns.id))
    .limit(options.limit);
}

export async function setCampaignState(tx: Executor, id: string, values: Partial<Pick<NewCampaignRow, 'status' | 'paused' | 'scheduleId' | 'launchedAt' | 'finishedAt'>>): Promise<CampaignRow> {
  const [row] = await tx
    .update(campaigns)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(campaigns.id, id))
    .returning();
  return row!;
}

// — runs

export interface RunStart {
  proceed: boolean;
  paused: boolean;
  ratePerMinute: number;
  batchSize: number;
}

/**
 * A run starts: the campaign records it (once per run, however often this is called) and says whether
 * to go on. A cancelled or completed campaign does not: a Schedule deleted a moment too late, or a run
 * triggered by hand after the end, ends without sending.
 */
export async function beginCampaignRun(tx: Executor, campaignId: string, runKey: string): Promise<RunStart> {
  const row = await lockCampaign(tx, campaignId);
  if (!row) return { proceed: false, paused: false, ratePerMinute: 1, batchSize: 1 };
  const pace = { ratePerMinute: row.ratePerMinute, batchSize: row.batchSize, paused: row.paused };
  // `running` under another run id: that run was terminated by hand (the Schedule never overlaps runs), so this one takes over.
  if (row.status !== 'scheduled' && row.status !== 'running') return { proceed: false, ...pace };
  if (row.currentWorkflowId !== runKey) {
    await tx
      .update(campaigns)
      .set({ status: 'running', currentWorkflowId: runKey, runs: sql`${campaigns.runs} + 1`, lastRunAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(campaigns.id, campaignId));
  }
  return { proceed: true, ...pace };
}

/**
 * A run ends. Recipients it had not reached are recorded `cancelled` when it was cancelled. The
 * campaign is completed, or scheduled again when it recurs, unless it was cancelled meanwhile; only the
 * run the campaign points at changes it (a stale run finishing late changes nothing).
 */
export async function finishCampaignRun(tx: Executor, campaignId: string, runKey: string, cancelled: boolean): Promise<'completed' | 'cancelled'> {
  if (cancelled) {
    await tx
      .update(campaignDeliveries)
      .set({ status: 'cancelled', decidedAt: sql`now()` })
      .where(and(eq(campaignDeliveries.campaignId, campaignId), eq(campaignDeliveries.runKey, runKey), eq(campaignDeliveries.status, 'pending')));
  }
  const row = await lockCampaign(tx, campaignId);
  if (row && row.currentWorkflowId === runKey) {
    // A recurring campaign past its end starts no more runs: this one was its last.
    const recurs = row.recurrence !== null && (row.endsAt === null || row.endsAt.getTime() > Date.now());
    const status: CampaignStatus = row.status === 'cancelled' ? 'cancelled' : recurs ? 'scheduled' : 'completed';
    await tx
      .update(campaigns)
      .set({ status, currentWorkflowId: null, ...(status === 'scheduled' ? {} : { finishedAt: sql`coalesce(${campaigns.finishedAt}, now())` }), updatedAt: sql`now()` })
      .where(eq(campaigns.id, campaignId));
  }
  return cancelled || row?.status === 'cancelled' ? 'cancelled' : 'completed';
}

// — audience

const paidList = sql.raw(paidOrderStatuses.map((status) => `'${status}'`).join(', '));

/**
 * The filter as SQL over `a` (identity.accounts). Active customers only (with a confirmed address, for
 * email), whose latest answer for the channel's marketing consent is a grant; then each filter narrows.
 */
export function audienceCondition(filter: AudienceFilter, channel: CampaignChannel): SQL {
  const consent = consentChannelOf[channel];
  const paid = (extra: SQL = sql``) => sql`SELECT 1 FROM orders.orders o WHERE o.account_id = a.id AND o.status IN (${paidList}) ${extra}`;
  const parts: SQL[] = [
    sql`a.status = 'active' AND a.role = 'customer'`,
    // An address never confirmed may not be the person's: no marketing email goes to it.
    ...(channel === 'email' ? [sql`a.email_verified_at IS NOT NULL`] : []),
    sql`(SELECT ce.granted FROM identity.consent_events ce WHERE ce.account_id = a.id AND ce.channel = ${consent} ORDER BY ce.occurred_at DESC, ce.id DESC LIMIT 1) IS TRUE`,
  ];
  if (filter.languages?.length) {
    const french = sql`lower(coalesce(a.language, '')) LIKE 'fr%'`;
    const wantsFr = filter.languages.includes('fr');
    const wantsEn = filter.languages.includes('en');
    if (wantsFr && !wantsEn) parts.push(french);
    if (wantsEn && !wantsFr) parts.push(sql`NOT (${french})`);
  }
  if (filter.currencies?.length) parts.push(sql`a.currency IN (${sql.join(filter.currencies.map((c) => sql`${c}`), sql`, `)})`);
  if (filter.segments?.length) {
    parts.push(sql`EXISTS (SELECT 1 FROM marketing.customer_segments s WHERE s.account_id = a.id AND s.segment IN (${sql.join(filter.segments.map((s) => sql`${s}`), sql`, `)}))`);
  }
  if (filter.createdAfter) parts.push(sql`a.created_at >= ${filter.createdAfter}::timestamptz`);
  if (filter.createdBefore) parts.push(sql`a.created_at < ${filter.createdBefore}::timestamptz`);
  if (filter.orderedSince) parts.push(sql`EXISTS (${paid(sql`AND o.created_at >= ${filter.orderedSince}::timestamptz`)})`);
  if (filter.notOrderedSince) parts.push(sql`NOT EXISTS (${paid(sql`AND o.created_at >= ${filter.notOrderedSince}::timestamptz`)})`);
  if (filter.minOrders) parts.push(sql`(SELECT count(*) FROM orders.orders o WHERE o.account_id = a.id AND o.status IN (${paidList})) >= ${filter.minOrders}`);
  if (filter.minSpent) {
    parts.push(
      sql`(SELECT coalesce(sum(o.total_amount), 0) FROM orders.orders o WHERE o.account_id = a.id AND o.status IN (${paidList}) AND o.currency = ${filter.minSpent.currency}) >= ${filter.minSpent.amount}`,
    );
  }
  return sql.join(parts, sql` AND `);
}

/** One page of the audience after `after`, in account-id order. */
export async function audiencePage(db: Executor, filter: AudienceFilter, channel: CampaignChannel, page: { after: string | null; limit: number }): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`
    SELECT a.id::text AS id FROM identity.accounts a
    WHERE ${page.after ? sql`a.id > ${page.after}::uuid AND ` : sql``}${audienceCondition(filter, channel)}
    ORDER BY a.id
    LIMIT ${page.limit}`);
  return rows.map((row) => row.id);
}

/**
 * Adds one audience page to the run's snapshot as `pending` rows with their variant. A recipient the
 * campaign already has (an earlier run, or this page written before a crash) keeps its row. Returns
 * the page's last account id, whether the audience is exhausted, and the run's snapshot size so far.
 */
export async function snapshotAudiencePage(
  tx: Executor,
  campaign: Pick<CampaignRow, 'id' | 'audience' | 'channel' | 'variantPercent'>,
  runKey: string,
  page: { after: string | null; limit: number },
): Promise<{ last: string | null; done: boolean; audience: number }> {
  const ids = await audiencePage(tx, campaign.audience, campaign.channel, page);
  if (ids.length > 0) {
    await tx
      .insert(campaignDeliveries)
      .values(ids.map((accountId) => ({ campaignId: campaign.id, accountId, runKey, variant: assignVariant(campaign.id, accountId, campaign.variantPercent) })))
      .onConflictDoNothing();
  }
  const [total] = await tx
    .select({ n: count() })
    .from(campaignDeliveries)
    .where(and(eq(campaignDeliveries.campaignId, campaign.id), eq(campaignDeliveries.runKey, runKey)));
  return { last: ids.at(-1) ?? page.after, done: ids.length < page.limit, audience: total?.n ?? 0 };
}

// — sending

/**
 * The run's next rows after `after`, whatever their state, locked: the same page on every attempt, so
 * a retried batch reports the rows its crashed attempt settled as well as settling the rest.
 */
export async function lockRunPage(tx: Executor, campaignId: string, runKey: string, page: { after: string | null; limit: number }): Promise<DeliveryRow[]> {
  return tx
    .select()
    .from(campaignDeliveries)
    .where(and(eq(campaignDeliveries.campaignId, campaignId), eq(campaignDeliveries.runKey, runKey), page.after ? sql`${campaignDeliveries.accountId} > ${page.after}::uuid` : undefined))
    .orderBy(asc(campaignDeliveries.accountId))
    .limit(page.limit)
    .for('update');
}

export interface Recipient {
  accountId: string;
  status: 'active' | 'disabled' | 'erased';
  emailEnc: string | null;
  language: string | null;
  /** The latest marketing consent answer for the channel, now. */
  consented: boolean;
}

/**
 * The recipients' accounts and current consent, read under a share lock on the accounts: a consent
 * change (`setConsent` locks the account) waits for this transaction, or finished before it. So a
 * withdrawal either comes first and is seen here, or comes after the message was queued.
 */
export async function recipientsNow(tx: Executor, channel: CampaignChannel, accountIds: string[]): Promise<Map<string, Recipient>> {
  if (accountIds.length === 0) return new Map();
  const sorted = [...accountIds].sort();
  const rows = await tx
    .select({ id: accounts.id, status: accounts.status, emailEnc: accounts.emailEnc, language: accounts.language })
    .from(accounts)
    .where(inArray(accounts.id, sorted))
    .orderBy(asc(accounts.id))
    .for('share');
  const consents = await tx
    .selectDistinctOn([consentEvents.accountId], { accountId: consentEvents.accountId, granted: consentEvents.granted })
    .from(consentEvents)
    .where(and(eq(consentEvents.channel, consentChannelOf[channel]), inArray(consentEvents.accountId, sorted)))
    .orderBy(consentEvents.accountId, sql`${consentEvents.occurredAt} DESC`, sql`${consentEvents.id} DESC`);
  const granted = new Map(consents.map((row) => [row.accountId, row.granted]));
  return new Map(rows.map((row) => [row.id, { accountId: row.id, status: row.status, emailEnc: row.emailEnc, language: row.language, consented: granted.get(row.id) === true }]));
}

/** Settles a pending row; false when it was not pending any more. */
export async function settleDelivery(tx: Executor, campaignId: string, accountId: string, outcome: { status: Exclude<DeliveryStatus, 'pending'>; reason?: string }): Promise<boolean> {
  const rows = await tx
    .update(campaignDeliveries)
    .set({ status: outcome.status, reason: outcome.reason ?? null, decidedAt: sql`now()` })
    .where(and(eq(campaignDeliveries.campaignId, campaignId), eq(campaignDeliveries.accountId, accountId), eq(campaignDeliveries.status, 'pending')))
    .returning({ accountId: campaignDeliveries.accountId });
  return rows.length > 0;
}

// — reads

export interface DeliveryTotals extends ProgressCounts {
  pending: number;
  cancelled: number;
  audience: number;
}

/** Counts per outcome and variant, over every run of the campaign or one run. */
export async function deliveryTotals(db: Executor, campaignId: string, runKey?: string): Promise<DeliveryTotals> {
  const rows = await db
    .select({ status: campaignDeliveries.status, variant: campaignDeliveries.variant, count: count() })
    .from(campaignDeliveries)
    .where(and(eq(campaignDeliveries.campaignId, campaignId), runKey ? eq(campaignDeliveries.runKey, runKey) : undefined))
    .groupBy(campaignDeliveries.status, campaignDeliveries.variant);
  const sum = (status: DeliveryStatus) => rows.filter((row) => row.status === status).reduce((total, row) => total + row.count, 0);
  return { ...countOutcomes(rows), pending: sum('pending'), cancelled: sum('cancelled'), audience: rows.reduce((total, row) => total + row.count, 0) };
}

export async function deliveriesOf(db: Executor, campaignId: string): Promise<DeliveryRow[]> {
  return db.select().from(campaignDeliveries).where(eq(campaignDeliveries.campaignId, campaignId)).orderBy(asc(campaignDeliveries.accountId));
}

export type { CampaignVariant };

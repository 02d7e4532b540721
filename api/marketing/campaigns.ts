/**
 * Campaigns for marketing staff: define (and change while a draft), launch (creates the campaign's
 * Temporal Schedule), pause, resume, cancel (signals to the run in progress), and follow progress (the
 * delivery rows, plus the running workflow's own progress query). Every change is in the audit log.
 *
 * Pause, resume and cancel write the campaign's state and signal its run in one transaction, under the
 * campaign row's lock; a run starting at that moment takes the same lock, so it either is signalled or
 * reads the new state when it begins. Nothing is lost to that race.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, ServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Context } from 'hono';
import { looksLikeCron, parseEvery, type CampaignRecurrence } from '../../campaigns/definition';
import { planSchedule } from '../../campaigns/schedule';
import { campaignById, deliveryTotals, insertCampaign, listCampaigns, lockCampaign, setCampaignState, updateDraftCampaign, type CampaignRow, type DeliveryTotals, type NewCampaignRow } from '../../db/campaigns';
import { campaignStatuses } from '../../db/schema/campaigns';
import type { Executor } from '../../platform/postgres';
import {
  campaignProgressQuery,
  campaignScheduleId,
  campaignSearchAttributes,
  campaignWorkflowIdBase,
  campaignWorkflowType,
  cancelCampaignSignal,
  pauseCampaignSignal,
  resumeCampaignSignal,
  type CampaignProgress,
  type CampaignWorkflowInput,
} from '../../workflows/campaigns/definitions';
import { access, accountOf, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { accessIdempotent } from '../idempotency';
import { HttpProblem, problems, type FieldError } from '../problem';
import { AdminProblemResponses, pageQuery } from '../schemas';

export const adminCampaignsPath = '/v1/admin/campaigns';

/** A Temporal outage at a campaign's start time is caught up within this window; later, the run is skipped and visible as such. */
const catchupWindow = '1 day';
/** How long a read waits for a running workflow's progress before answering with the delivery rows alone. */
const progressQueryTimeoutMs = 3_000;

// ---- Schemas --------------------------------------------------------------------------------------

const notEmpty = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

const Message = z
  .object({
    subject: notEmpty(200),
    text: notEmpty(20_000).openapi({ description: 'Plain-text body; a consent footer with the opt-out link is added to every message' }),
    html: z.string().trim().max(100_000).optional().openapi({ description: 'HTML body fragment (trusted staff content); made from `text` when absent' }),
  })
  .strict();

const Template = z.object({ fr: Message, en: Message }).strict().openapi('CampaignTemplate', { description: 'The message in French and in English; each recipient gets their language' });

const instant = z.iso.datetime({ offset: true });
const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR');

const Audience = z
  .object({
    languages: z.array(z.enum(['fr', 'en'])).min(1).max(2).optional(),
    currencies: z.array(currency).min(1).max(20).optional(),
    segments: z.array(z.string().regex(/^[a-z0-9_-]{1,50}$/, 'lowercase letters, digits, - and _')).min(1).max(50).optional().openapi({ description: 'Member of any of these segments' }),
    createdAfter: instant.optional(),
    createdBefore: instant.optional(),
    orderedSince: instant.optional().openapi({ description: 'Has a paid order placed since' }),
    notOrderedSince: instant.optional().openapi({ description: 'Has no paid order placed since' }),
    minOrders: z.number().int().min(1).max(100_000).optional(),
    minSpent: z.object({ amount: z.number().int().min(1).max(100_000_000_000), currency }).strict().optional().openapi({ description: 'Spent on paid orders in that currency, minor units' }),
  })
  .strict()
  .openapi('CampaignAudience', { description: 'Filters, all of which must hold; only customers who consented to the channel for marketing are ever included' });

const Schedule = z
  .object({
    startAt: instant.optional().openapi({ description: 'First (or only) run; absent or past → at launch' }),
    every: z
      .string()
      .max(40)
      .refine((value) => parseEvery(value) !== undefined, 'an interval such as "1 day", "6h" or "90s", between 1 second and 366 days')
      .optional(),
    cron: z.string().max(100).refine(looksLikeCron, 'five cron fields: minute hour day-of-month month day-of-week (UTC)').optional(),
    endAt: instant.optional().openapi({ description: 'A recurring campaign runs no more after this' }),
  })
  .strict()
  .openapi('CampaignSchedule', { description: 'When it runs: once, or every interval, or on a cron expression (UTC)' });

const AbTest = z
  .object({ template: Template, percent: z.number().int().min(1).max(99).openapi({ description: 'Share of recipients getting this B variant' }) })
  .strict()
  .openapi('CampaignAbTest', { description: 'A B variant; each recipient’s variant is fixed by a hash of the campaign and account ids' });

const campaignFields = {
  name: notEmpty(200),
  channel: z.enum(['email', 'in_app']),
  template: Template,
  audience: Audience,
  schedule: Schedule,
  ratePerMinute: z.number().int().min(1).max(100_000).openapi({ description: 'Messages per minute, at most' }),
  batchSize: z.number().int().min(1).max(1_000).openapi({ description: 'Recipients settled per transaction' }),
  abTest: AbTest.nullable(),
};

type ScheduleInput = z.infer<typeof Schedule>;

/** The rules between fields, as field errors; the same for a new campaign and for a draft after a change. */
function crossFieldErrors(value: { schedule: ScheduleInput; audience: z.infer<typeof Audience> }): FieldError[] {
  const errors: FieldError[] = [];
  const { schedule, audience } = value;
  const at = (field: string, message: string) => errors.push({ in: 'body', field, message });
  if (schedule.every !== undefined && schedule.cron !== undefined) at('schedule.cron', 'give either every or cron, not both');
  if (schedule.endAt !== undefined && schedule.every === undefined && schedule.cron === undefined) at('schedule.endAt', 'only a recurring campaign has an end');
  if (schedule.endAt && schedule.startAt && Date.parse(schedule.endAt) <= Date.parse(schedule.startAt)) at('schedule.endAt', 'must be after startAt');
  if (audience.createdAfter && audience.createdBefore && Date.parse(audience.createdBefore) <= Date.parse(audience.createdAfter)) at('audience.createdBefore', 'must be after createdAfter');
  return errors;
}

const NewCampaign = z
  .object({
    ...campaignFields,
    audience: campaignFields.audience.default({}),
    schedule: campaignFields.schedule.default({}),
    batchSize: campaignFields.batchSize.default(100),
    abTest: campaignFields.abTest.default(null),
  })
  .strict()
  .superRefine((value, ctx) => {
    for (const error of crossFieldErrors(value)) ctx.addIssue({ code: 'custom', message: error.message, path: error.field.split('.') });
  })
  .openapi('AdminNewCampaign');

const CampaignPatch = z
  .object(Object.fromEntries(Object.entries(campaignFields).map(([key, schema]) => [key, schema.optional()])) as { [K in keyof typeof campaignFields]: z.ZodOptional<(typeof campaignFields)[K]> })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'nothing to change' })
  .openapi('AdminCampaignPatch');

const Counts = z.object({ sent: z.number().int(), failed: z.number().int(), skippedNoConsent: z.number().int() });
const VariantCounts = z.object({ A: Counts, B: Counts }).openapi({ description: 'Per A/B variant (everything is A without a test)' });

const Progress = Counts.extend({
  pending: z.number().int().openapi({ description: 'In the audience snapshot, not settled yet' }),
  cancelled: z.number().int().openapi({ description: 'Not reached because the campaign was cancelled' }),
  audience: z.number().int().openapi({ description: 'Recipients ever taken into the campaign' }),
  variants: VariantCounts,
}).openapi('CampaignProgress', { description: 'From the delivery rows: one per recipient, ever' });

const RunProgress = Counts.extend({
  workflowId: z.string(),
  phase: z.enum(['audience', 'sending', 'done']),
  paused: z.boolean(),
  cancelled: z.boolean(),
  audience: z.number().int(),
  batches: z.number().int(),
  generation: z.number().int().openapi({ description: 'How many times the run continued as new' }),
  variants: VariantCounts,
}).openapi('CampaignRunProgress', { description: 'The running workflow’s own progress (its query), this run only' });

const CampaignView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    channel: z.enum(['email', 'in_app']),
    status: z.enum(campaignStatuses),
    paused: z.boolean(),
    template: Template,
    abTest: AbTest.nullable(),
    audience: Audience,
    schedule: Schedule,
    ratePerMinute: z.number().int(),
    batchSize: z.number().int(),
    scheduleId: z.string().nullable(),
    runs: z.number().int(),
    launchedAt: z.iso.datetime().nullable(),
    lastRunAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    progress: Progress,
    run: RunProgress.nullable(),
    links: z.object({ self: z.string() }),
  })
  .openapi('AdminCampaign');

const CampaignList = z.object({ items: z.array(CampaignView), nextCursor: z.string().nullable() }).openapi('AdminCampaignList');

// ---- Routes ---------------------------------------------------------------------------------------

const tags = ['admin', 'marketing'];
const params = z.object({ id: z.uuid() });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: CampaignView } } });
const conflict = { 409: { description: 'Not possible in the campaign’s current state (`type` says why)', content: AdminProblemResponses[422].content } };

const createCampaign = createRoute({
  tags,
  ...accessIdempotent('campaigns:manage', { required: false }),
  method: 'post',
  path: adminCampaignsPath,
  summary: 'Define a campaign (a draft until launched)',
  request: { body: { required: true, content: { 'application/json': { schema: NewCampaign } } } },
  responses: { 201: ok('Created'), ...AdminProblemResponses },
});

const getCampaign = createRoute({
  tags,
  ...access('campaigns:manage'),
  method: 'get',
  path: `${adminCampaignsPath}/{id}`,
  summary: 'A campaign with its progress',
  request: { params },
  responses: { 200: ok('The campaign'), ...AdminProblemResponses },
});

const listRoute = createRoute({
  tags,
  ...access('campaigns:manage'),
  method: 'get',
  path: adminCampaignsPath,
  summary: 'Campaigns, by id, with their progress',
  request: { query: pageQuery.extend({ status: z.enum(campaignStatuses).optional() }).strict() },
  responses: { 200: { description: 'A page', content: { 'application/json': { schema: CampaignList } } }, ...AdminProblemResponses },
});

const patchCampaign = createRoute({
  tags,
  ...access('campaigns:manage'),
  method: 'patch',
  path: `${adminCampaignsPath}/{id}`,
  summary: 'Change a draft campaign',
  request: { params, body: { required: true, content: { 'application/json': { schema: CampaignPatch } } } },
  responses: { 200: ok('Changed'), ...AdminProblemResponses, ...conflict },
});

const action = (verb: 'launch' | 'pause' | 'resume' | 'cancel', summary: string) =>
  createRoute({
    tags,
    ...access('campaigns:manage'),
    method: 'post',
    path: `${adminCampaignsPath}/{id}/${verb}`,
    summary,
    request: { params },
    responses: { 202: ok('Accepted: the run acts on it between batches'), ...AdminProblemResponses, ...conflict },
  });

const launchRoute = action('launch', 'Launch a draft: its Schedule starts the campaign at its start time (now when none)');
const pauseRoute = action('pause', 'Pause: no message is queued after the batch in flight until resumed');
const resumeRoute = action('resume', 'Resume a paused campaign where it stopped');
const cancelRoute = action('cancel', 'Cancel: the Schedule is deleted and the run stops after the batch in flight');

// ---- Views ----------------------------------------------------------------------------------------

const iso = (date: Date | null) => date?.toISOString() ?? null;

function scheduleOf(row: CampaignRow): ScheduleInput {
  return {
    ...(row.startsAt ? { startAt: row.startsAt.toISOString() } : {}),
    ...(row.recurrence && 'every' in row.recurrence ? { every: row.recurrence.every } : {}),
    ...(row.recurrence && 'cron' in row.recurrence ? { cron: row.recurrence.cron } : {}),
    ...(row.endsAt ? { endAt: row.endsAt.toISOString() } : {}),
  };
}

function campaignView(row: CampaignRow, progress: DeliveryTotals, run: z.infer<typeof RunProgress> | null): z.infer<typeof CampaignView> {
  return {
    id: row.id,
    name: row.name,
    channel: row.channel,
    status: row.status,
    paused: row.paused,
    template: row.template,
    abTest: row.variantTemplate && row.variantPercent ? { template: row.variantTemplate, percent: row.variantPercent } : null,
    audience: row.audience,
    schedule: scheduleOf(row),
    ratePerMinute: row.ratePerMinute,
    batchSize: row.batchSize,
    scheduleId: row.scheduleId,
    runs: row.runs,
    launchedAt: iso(row.launchedAt),
    lastRunAt: iso(row.lastRunAt),
    finishedAt: iso(row.finishedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    progress,
    run,
    links: { self: `${adminCampaignsPath}/${row.id}` },
  };
}

/** The running workflow's progress, or null when no run is going or it does not answer in time (its worker is down). */
async function runProgress(client: Client, row: CampaignRow): Promise<z.infer<typeof RunProgress> | null> {
  if (!row.currentWorkflowId) return null;
  try {
    const progress: CampaignProgress = await client.withDeadline(Date.now() + progressQueryTimeoutMs, () => client.workflow.getHandle(row.currentWorkflowId!).query(campaignProgressQuery));
    const { campaignId: _campaignId, ...rest } = progress;
    return { workflowId: row.currentWorkflowId, ...rest };
  } catch {
    return null;
  }
}

async function fullView(c: Context<AppEnv>, row: CampaignRow, withRun = true) {
  const { db, temporal } = c.get('deps');
  const [progress, run] = await Promise.all([deliveryTotals(db, row.id), withRun ? runProgress(temporal.client, row) : Promise.resolve(null)]);
  return campaignView(row, progress, run);
}

// ---- Writes ---------------------------------------------------------------------------------------

type Fields = Partial<{ [K in keyof typeof campaignFields]: z.output<(typeof campaignFields)[K]> }>;

function columnsOf(fields: Fields): Partial<NewCampaignRow> {
  const { schedule, abTest, ...rest } = fields;
  const columns: Partial<NewCampaignRow> = { ...rest };
  if (schedule !== undefined) {
    const recurrence: CampaignRecurrence | null = schedule.every ? { every: schedule.every } : schedule.cron ? { cron: schedule.cron } : null;
    Object.assign(columns, { startsAt: schedule.startAt ? new Date(schedule.startAt) : null, recurrence, endsAt: schedule.endAt ? new Date(schedule.endAt) : null });
  }
  if (abTest !== undefined) Object.assign(columns, { variantTemplate: abTest?.template ?? null, variantPercent: abTest?.percent ?? null });
  return columns;
}

const stateConflict = (slug: string, title: string, row: CampaignRow) =>
  new HttpProblem({ status: 409, slug, title, detail: `The campaign is ${row.paused && (row.status === 'scheduled' || row.status === 'running') ? `${row.status} and paused` : row.status}`, extra: { status: row.status, paused: row.paused } });

async function lockedCampaign(tx: Executor, id: string): Promise<CampaignRow> {
  const row = await lockCampaign(tx, id);
  if (!row) throw new HttpProblem(problems.notFound(`No campaign ${id}`));
  return row;
}

/** Signals the run in progress, if any; a run that has just ended needs no signal (it read the state it ended with). */
async function signalRun(client: Client, row: CampaignRow, signal: SignalDefinition<[]>): Promise<boolean> {
  if (!row.currentWorkflowId) return false;
  try {
    await client.workflow.getHandle(row.currentWorkflowId).signal(signal);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

const isInvalidArgument = (error: unknown) => error instanceof ServiceError && (error.cause as { code?: number } | undefined)?.code === 3;

/** Creates the campaign's Schedule; one left by a launch whose transaction never committed is replaced. */
async function createSchedule(c: Context<AppEnv>, row: CampaignRow): Promise<string> {
  const { config, temporal } = c.get('deps');
  const scheduleId = campaignScheduleId(config.TASK_QUEUE_PREFIX, row.id);
  const plan = planSchedule({ startsAt: row.startsAt, recurrence: row.recurrence, endsAt: row.endsAt, now: new Date() });
  const input: CampaignWorkflowInput = { campaignId: row.id, batchesPerRun: config.CAMPAIGN_BATCHES_PER_RUN, audiencePageSize: config.CAMPAIGN_AUDIENCE_PAGE_SIZE };
  const options = {
    scheduleId,
    spec: plan.spec,
    action: {
      type: 'startWorkflow' as const,
      workflowType: campaignWorkflowType,
      workflowId: campaignWorkflowIdBase(config.TASK_QUEUE_PREFIX, row.id),
      taskQueue: config.taskQueues.marketing,
      args: [input],
      typedSearchAttributes: [{ key: campaignSearchAttributes.campaignId, value: row.id }],
    },
    // A run still going when the next is due is not doubled: it is skipped, and the recipients it would have had are taken by the next.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    state: { triggerImmediately: plan.triggerImmediately, ...(plan.remainingActions !== undefined ? { remainingActions: plan.remainingActions } : {}), note: `campaign ${row.id}` },
  };
  try {
    await temporal.client.schedule.create(options);
  } catch (error) {
    if (isInvalidArgument(error) && row.recurrence && 'cron' in row.recurrence) {
      throw new HttpProblem(problems.validation([{ in: 'body', field: 'schedule.cron', message: `Temporal refused it: ${(error as Error).message}` }]));
    }
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    // The campaign row was still a draft under our lock: this Schedule belongs to a launch that did not commit.
    await temporal.client.schedule.getHandle(scheduleId).delete();
    await temporal.client.schedule.create(options);
  }
  return scheduleId;
}

export function adminCampaignRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createCampaign, async (c) => {
    const body = c.req.valid('json');
    const { db } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const created = await insertCampaign(tx, { ...(columnsOf(body) as NewCampaignRow), status: 'draft', createdBy: accountOf(c).accountId });
      await recordAudit(c, { action: 'campaigns.created', targetType: 'campaign', targetId: created.id, details: { name: created.name, channel: created.channel } }, tx);
      return created;
    });
    return c.json(await fullView(c, row, false), 201, { Location: `${adminCampaignsPath}/${row.id}` });
  });

  app.openapi(getCampaign, async (c) => {
    const { id } = c.req.valid('param');
    const row = await campaignById(c.get('deps').db, id);
    if (!row) throw new HttpProblem(problems.notFound(`No campaign ${id}`));
    return c.json(await fullView(c, row), 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(listRoute, async (c) => {
    const { limit, cursor, status } = c.req.valid('query');
    if (cursor !== undefined && !z.uuid().safeParse(cursor).success) throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from this list' }], 400));
    const rows = await listCampaigns(c.get('deps').db, { limit: limit + 1, ...(cursor ? { after: cursor } : {}), ...(status ? { status } : {}) });
    const page = rows.slice(0, limit);
    // A list does not query every running workflow: `run` is on the campaign's own page.
    const items = await Promise.all(page.map((row) => fullView(c, row, false)));
    return c.json({ items, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null }, 200, { 'Cache-Control': 'no-store' });
  });

  app.openapi(patchCampaign, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const { db } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const current = await lockedCampaign(tx, id);
      if (current.status !== 'draft') throw stateConflict('campaign-not-draft', 'Only a draft campaign can be changed', current);
      const errors = crossFieldErrors({ schedule: patch.schedule ?? scheduleOf(current), audience: patch.audience ?? current.audience });
      if (errors.length > 0) throw new HttpProblem(problems.validation(errors));
      const changed = (await updateDraftCampaign(tx, id, columnsOf(patch)))!;
      await recordAudit(c, { action: 'campaigns.changed', targetType: 'campaign', targetId: id, details: { fields: Object.keys(patch) } }, tx);
      return changed;
    });
    return c.json(await fullView(c, row, false), 200);
  });

  app.openapi(launchRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const current = await lockedCampaign(tx, id);
      if (current.status !== 'draft') throw stateConflict('campaign-already-launched', 'The campaign was launched already', current);
      if (current.endsAt && current.endsAt.getTime() <= Date.now()) {
        throw new HttpProblem(problems.validation([{ in: 'body', field: 'schedule.endAt', message: 'is in the past: the campaign would never run' }]));
      }
      // Created under the row's lock: a run it starts at once waits for this transaction to see `scheduled`.
      const scheduleId = await createSchedule(c, current);
      const launched = await setCampaignState(tx, id, { status: 'scheduled', scheduleId, launchedAt: new Date() });
      await recordAudit(c, { action: 'campaigns.launched', targetType: 'campaign', targetId: id, details: { scheduleId, startsAt: iso(current.startsAt), recurrence: current.recurrence } }, tx);
      return launched;
    });
    return c.json(await fullView(c, row, false), 202);
  });

  app.openapi(pauseRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db, temporal } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const current = await lockedCampaign(tx, id);
      if (current.status === 'draft') throw stateConflict('campaign-not-launched', 'The campaign has not been launched', current);
      if (current.status === 'completed' || current.status === 'cancelled') throw stateConflict('campaign-finished', 'The campaign has finished', current);
      if (current.paused) throw stateConflict('campaign-already-paused', 'The campaign is paused already', current);
      const paused = await setCampaignState(tx, id, { paused: true });
      const signalled = await signalRun(temporal.client, current, pauseCampaignSignal);
      await recordAudit(c, { action: 'campaigns.paused', targetType: 'campaign', targetId: id, details: { workflowId: current.currentWorkflowId, signalled } }, tx);
      return paused;
    });
    return c.json(await fullView(c, row, false), 202);
  });

  app.openapi(resumeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db, temporal } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const current = await lockedCampaign(tx, id);
      if (current.status === 'completed' || current.status === 'cancelled') throw stateConflict('campaign-finished', 'The campaign has finished', current);
      if (!current.paused) throw stateConflict('campaign-not-paused', 'The campaign is not paused', current);
      const resumed = await setCampaignState(tx, id, { paused: false });
      const signalled = await signalRun(temporal.client, current, resumeCampaignSignal);
      await recordAudit(c, { action: 'campaigns.resumed', targetType: 'campaign', targetId: id, details: { workflowId: current.currentWorkflowId, signalled } }, tx);
      return resumed;
    });
    return c.json(await fullView(c, row, false), 202);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db, temporal } = c.get('deps');
    const row = await db.transaction(async (tx) => {
      const current = await lockedCampaign(tx, id);
      if (current.status === 'completed') throw stateConflict('campaign-finished', 'The campaign has finished', current);
      if (current.status === 'cancelled') throw stateConflict('campaign-already-cancelled', 'The campaign is cancelled already', current);
      if (current.scheduleId) {
        try {
          await temporal.client.schedule.getHandle(current.scheduleId).delete();
        } catch (error) {
          if (!(error instanceof ScheduleNotFoundError)) throw error;
        }
      }
      const signalled = await signalRun(temporal.client, current, cancelCampaignSignal);
      // A run in progress records its end itself (its unreached recipients become `cancelled`); without one, it ends here.
      const cancelled = await setCampaignState(tx, id, { status: 'cancelled', ...(signalled ? {} : { finishedAt: new Date() }) });
      await recordAudit(c, { action: 'campaigns.cancelled', targetType: 'campaign', targetId: id, details: { workflowId: current.currentWorkflowId, signalled, previousStatus: current.status } }, tx);
      return cancelled;
    });
    return c.json(await fullView(c, row, false), 202);
  });
}

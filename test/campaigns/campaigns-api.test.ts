/**
 * Campaigns admin over HTTP, against real Postgres and Temporal (no worker: nothing here runs a
 * campaign): define, read, list, change a draft; every bad field named in a problem+json; launch
 * creates the Schedule; pause, resume, cancel only where they make sense; each action audited.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '../../db/schema/identity';
import { campaignScheduleId } from '../../workflows/campaigns/definitions';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startApi, testConfig } from '../support/stack';
import { adminClient, template, type CampaignView } from './fixtures';

const config = testConfig('campaigns-api');
let api: Awaited<ReturnType<typeof startApi>>;
let manager: SignedIn;
let shopper: SignedIn;
const admin = adminClient(
  () => api.baseUrl,
  () => manager,
);

before(async () => {
  api = await startApi(config);
  manager = await signedInAs(config, 'catalog_manager');
  shopper = await signedInAs(config, 'customer');
});
after(() => api?.stop());

const later = (ms: number) => new Date(Date.now() + ms).toISOString();
const draft = (extra: Record<string, unknown> = {}) => ({ name: `Campaign ${randomUUID().slice(0, 6)}`, channel: 'email', template: template('x'), ratePerMinute: 600, ...extra });

describe('campaigns admin', () => {
  test('a campaign is defined as a draft, read back with empty progress, listed, and changed while a draft', async () => {
    const created = await admin.create(draft({ audience: { languages: ['fr'], minOrders: 2 }, batchSize: 50, schedule: { startAt: later(3_600_000), every: '1 day' } }));
    assert.equal(created.status, 'draft');
    assert.equal(created.paused, false);
    assert.deepEqual(created.progress, { sent: 0, failed: 0, skippedNoConsent: 0, pending: 0, cancelled: 0, audience: 0, variants: { A: { sent: 0, failed: 0, skippedNoConsent: 0 }, B: { sent: 0, failed: 0, skippedNoConsent: 0 } } });
    assert.equal(created.run, null);
    assert.deepEqual(await admin.get(created.id), created);

    const changed = await json<CampaignView & { batchSize: number; abTest: { percent: number } | null }>(
      await admin.call('PATCH', created.links.self, { batchSize: 10, abTest: { template: template('b'), percent: 20 } }),
      200,
    );
    assert.equal(changed.batchSize, 10);
    assert.equal(changed.abTest?.percent, 20);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: CampaignView[]; nextCursor: string | null } = await json(await admin.call('GET', `/v1/admin/campaigns?limit=1&status=draft${cursor ? `&cursor=${cursor}` : ''}`), 200);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(seen.includes(created.id));
    assert.equal(new Set(seen).size, seen.length, 'no campaign twice across pages');
  });

  test('every bad field is named in a problem+json', async () => {
    const bad = async (body: unknown, status = 422) => fields(await problem(await admin.call('POST', '/v1/admin/campaigns', body), status));
    assert.deepEqual(await bad(draft({ template: { ...template('x'), fr: { subject: '', text: 'Bonjour' } } })), ['template.fr.subject']);
    assert.deepEqual(await bad(draft({ template: { ...template('x'), en: { subject: 'Hi', text: '   ' } } })), ['template.en.text']);
    assert.deepEqual(await bad(draft({ template: { fr: template('x').fr } })), ['template.en']);
    assert.deepEqual(await bad(draft({ channel: 'carrier-pigeon' })), ['channel']);
    assert.deepEqual(await bad(draft({ ratePerMinute: 0 })), ['ratePerMinute']);
    assert.deepEqual(await bad(draft({ batchSize: 0 })), ['batchSize']);
    assert.deepEqual(await bad(draft({ abTest: { template: template('b'), percent: 100 } })), ['abTest.percent']);
    assert.deepEqual(await bad(draft({ abTest: { template: { ...template('b'), en: { subject: '', text: 'x' } }, percent: 50 } })), ['abTest.template.en.subject']);
    assert.deepEqual(await bad(draft({ schedule: { every: 'sometimes' } })), ['schedule.every']);
    assert.deepEqual(await bad(draft({ schedule: { every: '1 day', cron: '0 9 * * MON' } })), ['schedule.cron']);
    assert.deepEqual(await bad(draft({ schedule: { endAt: later(60_000) } })), ['schedule.endAt']);
    assert.deepEqual(await bad(draft({ schedule: { every: '1h', startAt: later(120_000), endAt: later(60_000) } })), ['schedule.endAt']);
    assert.deepEqual(await bad(draft({ audience: { colour: 'red' } })), ['audience.colour']);
    assert.deepEqual(await bad(draft({ audience: { createdAfter: '2026-02-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' } })), ['audience.createdBefore']);
    assert.deepEqual(await bad(draft({ audience: { minSpent: { amount: 1000, currency: 'euro' } } })), ['audience.minSpent.currency']);
    assert.deepEqual(await bad(draft({ name: undefined })), ['name']);

    const created = await admin.create(draft());
    assert.deepEqual(fields(await problem(await admin.call('PATCH', created.links.self, {}), 422)), ['']);
    assert.deepEqual(fields(await problem(await admin.call('PATCH', created.links.self, { template: { ...template('x'), fr: { subject: 'Oui', text: '' } } }), 422)), ['template.fr.text']);
    // A change is checked together with what it leaves alone.
    assert.deepEqual(fields(await problem(await admin.call('PATCH', created.links.self, { schedule: { endAt: later(60_000) } }), 422)), ['schedule.endAt']);
    await problem(await admin.call('GET', `/v1/admin/campaigns/${randomUUID()}`), 404);
    await problem(await admin.act(randomUUID(), 'launch'), 404);
  });

  test('only campaign managers and admins may touch campaigns', async () => {
    const asShopper = adminClient(
      () => api.baseUrl,
      () => shopper,
    );
    await problem(await asShopper.call('POST', '/v1/admin/campaigns', draft()), 403);
    await problem(await asShopper.call('GET', '/v1/admin/campaigns'), 403);
    await problem(await fetch(`${api.baseUrl}/v1/admin/campaigns`), 401);
  });

  test('launch creates the Schedule for the start time, once; a launched campaign is not a draft any more', async () => {
    const startAt = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
    const created = await admin.create(draft({ schedule: { startAt: startAt.toISOString() } }));
    await problem(await admin.act(created.id, 'pause'), 409).then((p) => assert.match(p.type, /campaign-not-launched$/));

    const launched = await json<CampaignView>(await admin.act(created.id, 'launch'), 202);
    assert.equal(launched.status, 'scheduled');
    assert.equal(launched.scheduleId, campaignScheduleId(config.TASK_QUEUE_PREFIX, created.id));
    const schedule = await api.deps.temporal.client.schedule.getHandle(launched.scheduleId!).describe();
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.workflowType, 'campaign');
    assert.equal(schedule.state.remainingActions, 1, 'a one-off campaign runs once');
    assert.equal(schedule.info.nextActionTimes[0]?.getTime(), startAt.getTime(), 'it fires at the start time');

    assert.match((await problem(await admin.act(created.id, 'launch'), 409)).type, /campaign-already-launched$/);
    assert.match((await problem(await admin.call('PATCH', created.links.self, { name: 'Renamed' }), 409)).type, /campaign-not-draft$/);
    assert.match((await problem(await admin.act(created.id, 'resume'), 409)).type, /campaign-not-paused$/);

    // Paused before it starts: the run will begin paused. Pausing twice is refused, resuming works.
    assert.equal((await json<CampaignView>(await admin.act(created.id, 'pause'), 202)).paused, true);
    assert.match((await problem(await admin.act(created.id, 'pause'), 409)).type, /campaign-already-paused$/);
    assert.equal((await json<CampaignView>(await admin.act(created.id, 'resume'), 202)).paused, false);

    // Cancelled before it starts: the Schedule is gone, so it never runs.
    assert.equal((await json<CampaignView>(await admin.act(created.id, 'cancel'), 202)).status, 'cancelled');
    await assert.rejects(api.deps.temporal.client.schedule.getHandle(launched.scheduleId!).describe(), ScheduleNotFoundError);
    assert.match((await problem(await admin.act(created.id, 'cancel'), 409)).type, /campaign-already-cancelled$/);
    assert.match((await problem(await admin.act(created.id, 'pause'), 409)).type, /campaign-finished$/);
    assert.match((await problem(await admin.act(created.id, 'launch'), 409)).type, /campaign-already-launched$/);

    const audited = await api.deps.db
      .select({ action: auditLog.action, actorId: auditLog.actorId })
      .from(auditLog)
      .where(and(eq(auditLog.targetType, 'campaign'), eq(auditLog.targetId, created.id)))
      .orderBy(auditLog.id);
    assert.deepEqual(
      audited.map((row) => row.action),
      ['campaigns.created', 'campaigns.launched', 'campaigns.paused', 'campaigns.resumed', 'campaigns.cancelled'],
    );
    assert.ok(audited.every((row) => row.actorId === manager.accountId));
  });

  test('a recurring campaign whose end has passed is refused at launch, naming the field', async () => {
    const created = await admin.create(draft({ schedule: { startAt: '2020-01-01T00:00:00Z', every: '1 day', endAt: '2020-02-01T00:00:00Z' } }));
    assert.deepEqual(fields(await problem(await admin.act(created.id, 'launch'), 422)), ['schedule.endAt']);
    assert.equal((await admin.get(created.id)).status, 'draft');
  });
});

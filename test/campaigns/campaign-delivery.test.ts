/**
 * Campaigns end to end over HTTP, with a running worker on real Postgres and Temporal: the Schedule
 * starts the run, which snapshots the audience, settles it in rate-limited batches and continues as new
 * every 2 batches (CAMPAIGN_BATCHES_PER_RUN=2 here). What is checked is what reached the notification
 * outbox: exactly one message per consenting recipient, none to anyone else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { assignVariant } from '../../campaigns/variants';
import { deliveriesOf } from '../../db/campaigns';
import { assignSegment } from '../../db/promotions';
import { openNotification } from '../../db/notifications';
import { accounts } from '../../db/schema/identity';
import { setConsent } from '../../identity/consents';
import { campaignScheduleId } from '../../workflows/campaigns/definitions';
import { recordHistory } from '../support/histories';
import { json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';
import { adminClient, customer, customers, outboxRowsOf, segmentName, template, type CampaignView } from './fixtures';

// Its own metrics port: other suites may run workers on this machine at the same time.
const config = testConfig('campaign-delivery', { CAMPAIGN_BATCHES_PER_RUN: '2', CAMPAIGN_AUDIENCE_PAGE_SIZE: '5', WORKER_METRICS_PORT: String(await freePort()) });
let api: Awaited<ReturnType<typeof startApi>>;
let worker: Awaited<ReturnType<typeof startWorker>>;
let manager: SignedIn;
const admin = adminClient(
  () => api.baseUrl,
  () => manager,
);

before(async () => {
  api = await startApi(config);
  worker = await startWorker(config);
  manager = await signedInAs(config, 'admin');
});
after(async () => {
  await worker?.stop();
  await api?.stop();
});

const db = () => api.deps.db;
const client = (): Client => api.deps.temporal.client;

async function untilStatus(id: string, status: string, timeoutMs = 60_000): Promise<CampaignView> {
  return waitFor(
    async () => {
      const view = await admin.get(id);
      return view.status === status ? view : undefined;
    },
    { what: `campaign ${id} ${status}`, timeoutMs, intervalMs: 100 },
  );
}

/** Every run of the campaign, continued-as-new ones included, found by its search attribute. */
async function executionsOf(id: string) {
  const found: { workflowId: string; runId: string; status: string }[] = [];
  for await (const execution of client().workflow.list({ query: `CampaignId = "${id}"` })) found.push({ workflowId: execution.workflowId, runId: execution.runId, status: execution.status.name });
  return found;
}

/** Like recordHistory, for one given run (the first run holds the start and the first continue-as-new). */
async function recordRun(workflowId: string, runId: string, name: string) {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client().workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = new URL('../histories/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), historyToJSON(history) + '\n');
}

/** Asserts the outbox holds exactly one campaign message for each of `expected` and nothing else; returns them decrypted. */
async function assertExactlyOnce(campaignId: string, expected: string[]) {
  const rows = await outboxRowsOf(db(), campaignId);
  assert.deepEqual(rows.map((row) => row.accountId).sort(), [...expected].sort(), 'one outbox message per consenting recipient, none to anyone else');
  assert.ok(rows.every((row) => row.channel === 'email' && row.dedupeKey === `campaign:${campaignId}:${row.accountId}`));
  return rows.map((row) => ({ accountId: row.accountId!, ...openNotification(config, row) }));
}

describe('campaign delivery', () => {
  test('paused and resumed mid-way: exactly once per consenting recipient, never without consent, continued as new', async () => {
    const segment = segmentName('pause');
    const french = await customers(db(), config, 4, { segment, consent: 'granted', language: 'fr-FR' });
    const english = await customers(db(), config, 8, { segment, consent: 'granted', language: 'en-GB' });
    const never = await customers(db(), config, 2, { segment, consent: 'never' });
    const refused = await customers(db(), config, 2, { segment, consent: 'refused' });
    const withdrawn = await customers(db(), config, 1, { segment, consent: 'withdrawn' });
    const smsOnly = await customer(db(), config, { segment, consent: 'granted', channel: 'sms' });
    const elsewhere = await customer(db(), config, { segment: segmentName('other'), consent: 'granted' });
    const audience = [...french, ...english];

    // 12 recipients in batches of 2 at 240/min: one batch every 500 ms.
    const created = await admin.create({ name: 'Pause and resume', channel: 'email', template: template('P'), audience: { segments: [segment] }, ratePerMinute: 240, batchSize: 2 });
    await json(await admin.act(created.id, 'launch'), 202);
    await waitFor(async () => (await admin.get(created.id)).progress.sent >= 2, { what: 'a first batch', intervalMs: 20 });
    const paused = await json<CampaignView>(await admin.act(created.id, 'pause'), 202);
    assert.equal(paused.paused, true);

    // The batch in flight may finish; after that nothing moves while paused.
    const view = await waitFor(async () => {
      const seen = await admin.get(created.id);
      return seen.run?.paused ? seen : undefined;
    }, { what: 'the run to report paused' });
    // The run holding the pause; it will receive the resume too (recorded below).
    const pausedRunId = (await client().workflow.getHandle(view.run!.workflowId).describe()).runId;
    const settledWhilePaused = (await admin.get(created.id)).progress;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const stillPaused = await admin.get(created.id);
    assert.deepEqual(stillPaused.progress, settledWhilePaused, 'nothing is queued while paused');
    assert.ok(stillPaused.progress.sent < audience.length, 'paused mid-way');
    assert.equal(stillPaused.progress.audience, audience.length, 'the audience snapshot is the consenting customers of the segment');
    // The run's own count (its query) is the delivery rows' count.
    assert.deepEqual(
      { sent: stillPaused.run!.sent, failed: stillPaused.run!.failed, skipped: stillPaused.run!.skippedNoConsent },
      { sent: stillPaused.progress.sent, failed: stillPaused.progress.failed, skipped: stillPaused.progress.skippedNoConsent },
    );
    assert.ok(view.run!.generation >= 1, 'the run has continued as new already (2 batches per run)');

    // While paused, one recipient not reached yet withdraws consent and another account is disabled.
    const pending = (await deliveriesOf(db(), created.id)).filter((row) => row.status === 'pending').map((row) => row.accountId);
    assert.ok(pending.length >= 2);
    const withdrawsNow = pending.at(-1)!;
    const disabled = pending.at(-2)!;
    await setConsent(db(), withdrawsNow, 'email', false);
    await db().update(accounts).set({ status: 'disabled' }).where(eq(accounts.id, disabled));

    await json(await admin.act(created.id, 'resume'), 202);
    const done = await untilStatus(created.id, 'completed');
    assert.equal(done.run, null);
    assert.deepEqual(
      { sent: done.progress.sent, skipped: done.progress.skippedNoConsent, failed: done.progress.failed, pending: done.progress.pending },
      { sent: audience.length - 2, skipped: 1, failed: 1, pending: 0 },
    );

    const rows = await deliveriesOf(db(), created.id);
    assert.deepEqual(rows.map((row) => row.accountId).sort(), [...audience].sort(), 'a delivery row for each of the audience, none for anyone else');
    assert.equal(rows.find((row) => row.accountId === withdrawsNow)?.status, 'skipped_no_consent');
    assert.equal(rows.find((row) => row.accountId === disabled)?.status, 'failed');
    // Rate-limited: a batch's rows share their transaction's time, and batches of 2 at 240/min are 500 ms
    // apart at least (less the time an activity waits to be picked up).
    const batchTimes = [...new Set(rows.map((row) => row.decidedAt!.getTime()))].sort((a, b) => a - b);
    assert.ok(batchTimes.length >= audience.length / 2, `${batchTimes.length} batches`);
    for (let i = 1; i < batchTimes.length; i++) assert.ok(batchTimes[i]! - batchTimes[i - 1]! >= 300, `batches ${batchTimes[i]! - batchTimes[i - 1]!} ms apart`);
    const reached = audience.filter((id) => id !== withdrawsNow && id !== disabled);
    const messages = await assertExactlyOnce(created.id, reached);
    for (const outsider of [...never, ...refused, ...withdrawn, smsOnly, elsewhere]) assert.ok(!messages.some((m) => m.accountId === outsider));

    // Each in their language, to their own address.
    const emails = new Map((await db().select({ id: accounts.id, emailEnc: accounts.emailEnc }).from(accounts)).map((row) => [row.id, row.emailEnc]));
    for (const message of messages) {
      const payload = message.payload as unknown as { subject: string; text: string; language: string };
      assert.equal(payload.subject, french.includes(message.accountId) ? 'Offre P' : 'Offer P');
      assert.match(payload.text, /account\/consents/);
      assert.ok(emails.get(message.accountId), 'an account with an address');
      assert.match(message.recipient ?? '', /^campaign-.*@test\.comptoir\.dev$/);
    }

    // Finished: nothing more to pause; and it really continued as new, visibly to ops through CampaignId.
    assert.match((await problem(await admin.act(created.id, 'pause'), 409)).type, /campaign-finished$/);
    const executions = await waitFor(async () => {
      const found = await executionsOf(created.id);
      return found.some((e) => e.status === 'COMPLETED') ? found : undefined;
    }, { what: 'visibility to list the runs' });
    assert.ok(executions.filter((e) => e.status === 'CONTINUED_AS_NEW').length >= 3, JSON.stringify(executions));
    assert.equal(new Set(executions.map((e) => e.workflowId)).size, 1, 'one run of the Schedule, in several generations');

    const workflowId = executions[0]!.workflowId;
    const first = (await client().workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.firstRunId;
    if (first) await recordRun(workflowId, first, 'campaign-first-run');
    await recordRun(workflowId, pausedRunId, 'campaign-paused-resumed');
    await recordHistory(client(), workflowId, 'campaign-last-run');
  });

  test('A/B variants: each recipient gets the variant its hash gives, with per-variant results; a start time in the future is kept', async () => {
    const segment = segmentName('ab');
    const audience = await customers(db(), config, 30, { segment, consent: 'granted' });
    const startAt = new Date(Math.ceil((Date.now() + 2_500) / 1000) * 1000);
    const variantB = { fr: { subject: 'Variante B', text: 'Texte B' }, en: { subject: 'Variant B', text: 'Text B' } };
    const created = await admin.create({
      name: 'A/B',
      channel: 'email',
      template: template('A'),
      abTest: { template: variantB, percent: 40 },
      audience: { segments: [segment], languages: ['en'] },
      schedule: { startAt: startAt.toISOString() },
      ratePerMinute: 60_000,
      batchSize: 10,
    });
    await json(await admin.act(created.id, 'launch'), 202);
    assert.equal((await admin.get(created.id)).runs, 0, 'not before its start time');
    const done = await untilStatus(created.id, 'completed');

    const runs = await executionsOf(created.id);
    const started = await client().workflow.getHandle(runs[0]!.workflowId, runs.at(-1)!.runId).describe();
    assert.ok(started.startTime.getTime() >= startAt.getTime() - 1_000, `started at ${started.startTime.toISOString()}, due ${startAt.toISOString()}`);

    const expected = new Map(audience.map((id) => [id, assignVariant(created.id, id, 40)]));
    const inB = [...expected.values()].filter((v) => v === 'B').length;
    assert.ok(inB > 0 && inB < audience.length, 'both variants have recipients');
    const rows = await deliveriesOf(db(), created.id);
    assert.deepEqual(new Map(rows.map((row) => [row.accountId, row.variant])), expected);
    assert.deepEqual(done.progress.variants, { A: { sent: audience.length - inB, failed: 0, skippedNoConsent: 0 }, B: { sent: inB, failed: 0, skippedNoConsent: 0 } });

    for (const message of await assertExactlyOnce(created.id, audience)) {
      const payload = message.payload as unknown as { subject: string; variant: string };
      assert.equal(payload.variant, expected.get(message.accountId));
      assert.equal(payload.subject, expected.get(message.accountId) === 'B' ? 'Variant B' : 'Offer A');
    }
  });

  test('a recurring campaign reaches newcomers on later runs, never anyone twice; cancel deletes its Schedule', async () => {
    const segment = segmentName('recurring');
    const first = await customers(db(), config, 3, { segment, consent: 'granted' });
    const created = await admin.create({ name: 'Welcome', channel: 'email', template: template('R'), audience: { segments: [segment] }, schedule: { every: '2s' }, ratePerMinute: 60_000, batchSize: 10 });
    await json(await admin.act(created.id, 'launch'), 202);
    await waitFor(async () => (await admin.get(created.id)).progress.sent === 3, { what: 'the first run' });

    const newcomer = await customer(db(), config, { segment, consent: 'granted' });
    const later = await waitFor(async () => {
      const view = await admin.get(created.id);
      return view.progress.sent === 4 ? view : undefined;
    }, { what: 'a later run to reach the newcomer' });
    assert.ok(later.runs >= 2, `runs: ${later.runs}`);
    // More runs go by; nobody hears twice.
    await waitFor(async () => (await admin.get(created.id)).runs >= later.runs + 1, { what: 'one more run' });
    await assertExactlyOnce(created.id, [...first, newcomer]);

    const cancelled = await json<CampaignView>(await admin.act(created.id, 'cancel'), 202);
    assert.equal(cancelled.status, 'cancelled');
    await assert.rejects(client().schedule.getHandle(campaignScheduleId(config.TASK_QUEUE_PREFIX, created.id)).describe(), ScheduleNotFoundError);
    await assertExactlyOnce(created.id, [...first, newcomer]);
  });

  test('in-app: customers who consented to push see the message in the shop, once; the others do not', async () => {
    const segment = segmentName('in-app');
    const people = await Promise.all([0, 1, 2, 3].map(() => signedInAs(config, 'customer')));
    for (const person of people) await assignSegment(db(), person.accountId, segment);
    const [fan, otherFan, emailOnly, nobody] = people;
    await setConsent(db(), fan!.accountId, 'push', true);
    await setConsent(db(), otherFan!.accountId, 'push', true);
    await setConsent(db(), emailOnly!.accountId, 'email', true);
    const created = await admin.create({ name: 'In the app', channel: 'in_app', template: template('N'), audience: { segments: [segment] }, ratePerMinute: 60_000, batchSize: 10 });
    await json(await admin.act(created.id, 'launch'), 202);
    const done = await untilStatus(created.id, 'completed');
    assert.equal(done.progress.sent, 2);

    const rows = await outboxRowsOf(db(), created.id);
    assert.deepEqual(rows.map((row) => row.accountId).sort(), [fan!.accountId, otherFan!.accountId].sort());
    assert.ok(rows.every((row) => row.channel === 'in_app' && row.recipientEnc === null && row.payloadEnc === null), 'an in-app record holds no address and no content');
    const inbox = async (person: SignedIn) => (await json<{ messages: { event: string; subject: string; body: string }[] }>(await fetch(`${api.baseUrl}/v1/me/notifications`, { headers: person.headers }), 200)).messages.filter((m) => m.event === 'campaign');
    for (const person of [fan!, otherFan!]) {
      const messages = await inbox(person);
      assert.equal(messages.length, 1);
      assert.equal(messages[0]!.subject, 'Offer N');
      assert.match(messages[0]!.body, /^Hello, here is offer N\.\n\n--\nYou see this message because you agreed to hear from Comptoir in the app/);
    }
    assert.deepEqual(await inbox(emailOnly!), []);
    assert.deepEqual(await inbox(nobody!), []);
  });

  test('cancelled mid-way: the run stops, the recipients not reached are recorded cancelled, none of them gets a message', async () => {
    const segment = segmentName('cancel');
    const audience = await customers(db(), config, 10, { segment, consent: 'granted' });
    // One recipient per second: the cancel lands long before the end.
    const created = await admin.create({ name: 'Cancel me', channel: 'email', template: template('C'), audience: { segments: [segment] }, ratePerMinute: 60, batchSize: 1 });
    await json(await admin.act(created.id, 'launch'), 202);
    await waitFor(async () => (await admin.get(created.id)).progress.sent >= 1, { what: 'a first message' });
    await json(await admin.act(created.id, 'cancel'), 202);
    const done = await waitFor(async () => {
      const view = await admin.get(created.id);
      return view.progress.pending === 0 && view.run === null ? view : undefined;
    }, { what: 'the run to end' });
    assert.equal(done.status, 'cancelled');
    assert.ok(done.progress.cancelled > 0 && done.progress.sent + done.progress.cancelled === audience.length, JSON.stringify(done.progress));
    const rows = await deliveriesOf(db(), created.id);
    await assertExactlyOnce(
      created.id,
      rows.filter((row) => row.status === 'sent').map((row) => row.accountId),
    );
  });
});

/**
 * A campaign whose worker process is killed with SIGKILL mid-campaign and replaced: every consenting
 * recipient gets exactly one message, nobody without consent gets one. The API runs in this process;
 * the marketing worker is a child process (`workers/marketing.ts`, as production runs it).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { deliveriesOf } from '../../db/campaigns';
import { setConsent } from '../../identity/consents';
import { json } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { spawnWorkerProcess, startApi, testConfig, waitFor } from '../support/stack';
import { adminClient, customers, outboxRowsOf, segmentName, template } from './fixtures';

const config = testConfig('campaign-crash', { CAMPAIGN_BATCHES_PER_RUN: '3' });
let api: Awaited<ReturnType<typeof startApi>>;
let manager: SignedIn;
const children: ChildProcess[] = [];
const admin = adminClient(
  () => api.baseUrl,
  () => manager,
);

before(async () => {
  api = await startApi(config);
  manager = await signedInAs(config, 'catalog_manager');
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await api?.stop();
});

async function spawnWorker(): Promise<ChildProcess> {
  const child = await spawnWorkerProcess(config, 'workers/marketing.ts');
  children.push(child);
  return child;
}

describe('campaign worker crash', () => {
  test('the worker killed mid-campaign and restarted: exactly once per consenting recipient, never without consent', async () => {
    const db = api.deps.db;
    const segment = segmentName('crash');
    const audience = await customers(db, config, 16, { segment, consent: 'granted' });
    const outsiders = [...(await customers(db, config, 2, { segment, consent: 'refused' })), ...(await customers(db, config, 2, { segment, consent: 'never' }))];

    let worker = await spawnWorker();
    // Batches of 2 at 120/min: one batch a second, so the kill lands mid-campaign.
    const created = await admin.create({ name: 'Crash', channel: 'email', template: template('K'), audience: { segments: [segment] }, ratePerMinute: 120, batchSize: 2 });
    await json(await admin.act(created.id, 'launch'), 202);
    await waitFor(async () => (await admin.get(created.id)).progress.sent >= 4, { what: 'two batches', intervalMs: 20, timeoutMs: 60_000 });

    worker.kill('SIGKILL');
    await once(worker, 'exit');
    const atKill = (await admin.get(created.id)).progress;
    assert.ok(atKill.sent < audience.length, `killed mid-campaign (${atKill.sent} sent)`);

    // While no worker runs: the read still answers (from the delivery rows; the run cannot answer its query), and
    // a recipient not reached yet withdraws consent.
    const during = await admin.get(created.id);
    assert.equal(during.run, null);
    const pending = (await deliveriesOf(db, created.id)).filter((row) => row.status === 'pending').map((row) => row.accountId);
    const withdrawsNow = pending.at(-1)!;
    await setConsent(db, withdrawsNow, 'email', false);

    worker = await spawnWorker();
    const done = await waitFor(async () => {
      const view = await admin.get(created.id);
      return view.status === 'completed' ? view : undefined;
    }, { what: 'the campaign to complete after the restart', timeoutMs: 90_000, intervalMs: 200 });

    assert.deepEqual([done.progress.sent, done.progress.skippedNoConsent, done.progress.failed, done.progress.pending], [audience.length - 1, 1, 0, 0]);
    const rows = await deliveriesOf(db, created.id);
    assert.deepEqual(rows.map((row) => row.accountId).sort(), [...audience].sort());
    const messages = await outboxRowsOf(db, created.id);
    const reached = audience.filter((id) => id !== withdrawsNow);
    assert.deepEqual(messages.map((row) => row.accountId).sort(), reached.sort(), 'exactly one message per consenting recipient');
    assert.ok(!messages.some((row) => outsiders.includes(row.accountId!) || row.accountId === withdrawsNow), 'none without consent');
    worker.kill('SIGTERM');
    await once(worker, 'exit');
  });
});

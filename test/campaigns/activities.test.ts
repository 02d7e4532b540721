/**
 * The campaign activities are idempotent: each is called twice with the same input, as Temporal does
 * when a worker dies after the transaction committed but before the result was reported, and the
 * second call changes nothing and answers the same. Real Postgres; the activity context is the SDK's
 * mock environment (heartbeats go nowhere).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCampaignActivities } from '../../activities/campaigns/campaigns';
import { campaignById, deliveriesOf, insertCampaign } from '../../db/campaigns';
import { setConsent } from '../../identity/consents';
import { createLogger } from '../../platform/logger';
import { connectPostgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';
import { customers, outboxRowsOf, segmentName, template } from './fixtures';

const config = testConfig('campaign-activities');
const postgres = connectPostgres(config.DATABASE_URL, { max: 4 });
after(() => postgres.close());
const db = postgres.db;
const activities = createCampaignActivities({ config, db, logger: createLogger({ level: 'silent', name: 'test' }) });
const twice = async <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<[O, O]> => {
  const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  return [await env().run(fn, input), await env().run(fn, input)];
};

describe('campaign activities', () => {
  test('begin, snapshot, send and finish: each twice, the second a no-op with the same answer', async () => {
    const segment = segmentName('idem');
    const audience = await customers(db, config, 5, { segment, consent: 'granted' });
    const campaign = await insertCampaign(db, {
      name: 'Idempotent',
      channel: 'email',
      template: template('I'),
      variantTemplate: template('J'),
      variantPercent: 50,
      audience: { segments: [segment] },
      ratePerMinute: 600,
      batchSize: 3,
      status: 'scheduled',
    });
    const run = { campaignId: campaign.id, runKey: `test-campaign-${campaign.id}` };

    const [begun, begunAgain] = await twice(activities.beginCampaignRun, run);
    assert.deepEqual(begunAgain, begun);
    assert.deepEqual(begun, { proceed: true, paused: false, ratePerMinute: 600, batchSize: 3 });
    assert.equal((await campaignById(db, campaign.id))?.runs, 1, 'the run is counted once');

    const [page, pageAgain] = await twice(activities.addAudiencePage, { ...run, after: null, limit: 10 });
    assert.deepEqual(pageAgain, page);
    assert.deepEqual(page, { last: [...audience].sort().at(-1), done: true, audience: 5 });
    assert.equal((await deliveriesOf(db, campaign.id)).length, 5);

    // A consent withdrawn after the snapshot: skipped at send time, on the first call and the second alike.
    const withdrawn = [...audience].sort()[1]!;
    await setConsent(db, withdrawn, 'email', false);
    const [batch, batchAgain] = await twice(activities.sendCampaignBatch, { ...run, after: null, limit: 3 });
    assert.deepEqual(batchAgain.counts, batch.counts, 'a retried batch reports the same outcomes');
    assert.equal(batch.last, batchAgain.last);
    assert.deepEqual([batch.handled, batchAgain.handled], [3, 0], 'the retry settles nothing again');
    assert.deepEqual([batch.counts.sent, batch.counts.skippedNoConsent], [2, 1]);
    assert.equal((await outboxRowsOf(db, campaign.id)).length, 2, 'no second message from the retry');

    const [rest, restAgain] = await twice(activities.sendCampaignBatch, { ...run, after: batch.last, limit: 3 });
    assert.deepEqual(restAgain.counts, rest.counts);
    assert.deepEqual([rest.counts.sent, rest.done], [2, true]);
    assert.equal((await outboxRowsOf(db, campaign.id)).length, 4);

    const [finished, finishedAgain] = await twice(activities.finishCampaignRun, { ...run, cancelled: false });
    assert.deepEqual([finished, finishedAgain], [{ status: 'completed' }, { status: 'completed' }]);
    const row = await campaignById(db, campaign.id);
    assert.equal(row?.status, 'completed');
    assert.equal(row?.currentWorkflowId, null);
    // A run started by hand after the end does not send.
    const [late] = await twice(activities.beginCampaignRun, { ...run, runKey: 'another' });
    assert.equal(late.proceed, false);
  });
});

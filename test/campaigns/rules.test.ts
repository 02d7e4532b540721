/** The campaign rules as pure functions: intervals, cron shape, A/B assignment, pacing, counters, the Schedule plan, rendering. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { languageOf, looksLikeCron, parseEvery } from '../../campaigns/definition';
import { batchSlotMs, pauseAfterBatch } from '../../campaigns/pacing';
import { addProgress, countOutcomes, noProgress } from '../../campaigns/progress';
import { calendarAt, planSchedule } from '../../campaigns/schedule';
import { assignVariant, bucketOf } from '../../campaigns/variants';
import { renderCampaignMessage, renderCampaignPayload } from '../../notifications/campaign-template';

describe('campaign definition', () => {
  test('intervals: a small grammar, bounded', () => {
    assert.equal(parseEvery('90s'), 90_000);
    assert.equal(parseEvery('15 minutes'), 15 * 60_000);
    assert.equal(parseEvery('1 day'), 86_400_000);
    assert.equal(parseEvery('6h'), 6 * 3_600_000);
    for (const bad of ['sometimes', '0s', '1.5h', '-1 day', '400 days', '1 week', '']) assert.equal(parseEvery(bad), undefined, bad);
  });

  test('cron: five fields of cron characters', () => {
    assert.ok(looksLikeCron('0 9 * * MON'));
    assert.ok(looksLikeCron('*/15 8-18 1,15 * *'));
    assert.ok(!looksLikeCron('0 9 * *'));
    assert.ok(!looksLikeCron('0 9 * * MON extra'));
    assert.ok(!looksLikeCron('0 9 * * $(rm)'));
  });

  test('language: French for any French tag, English otherwise', () => {
    assert.equal(languageOf('fr-CA'), 'fr');
    assert.equal(languageOf('FR'), 'fr');
    assert.equal(languageOf('de-DE'), 'en');
    assert.equal(languageOf(null), 'en');
  });
});

describe('A/B assignment', () => {
  test('deterministic per (campaign, account), and A for everyone without a test', () => {
    const campaign = randomUUID();
    const account = randomUUID();
    assert.equal(assignVariant(campaign, account, 50), assignVariant(campaign, account, 50));
    assert.equal(bucketOf(campaign, account), bucketOf(campaign, account));
    assert.equal(assignVariant(campaign, account, null), 'A');
    assert.equal(assignVariant(campaign, account, 0), 'A');
  });

  test('the split follows the percentage, and differs between campaigns', () => {
    const accounts = Array.from({ length: 4000 }, () => randomUUID());
    const campaign = randomUUID();
    const share = accounts.filter((account) => assignVariant(campaign, account, 30) === 'B').length / accounts.length;
    assert.ok(Math.abs(share - 0.3) < 0.035, `B share ${share}`);
    // A recipient in B at 30 % stays in B at 60 %: raising the share only moves people from A to B.
    assert.ok(accounts.every((account) => assignVariant(campaign, account, 30) === 'A' || assignVariant(campaign, account, 60) === 'B'));
    const other = randomUUID();
    const same = accounts.filter((account) => assignVariant(campaign, account, 50) === assignVariant(other, account, 50)).length / accounts.length;
    assert.ok(same > 0.4 && same < 0.6, `two campaigns agree on ${same} of recipients: not independent`);
  });
});

describe('pacing', () => {
  test('a batch occupies its share of a minute at the rate, less the time it took', () => {
    assert.equal(batchSlotMs(10, 600), 1_000);
    assert.equal(batchSlotMs(1, 7), 8_572);
    assert.equal(pauseAfterBatch(10, 600, 300), 700);
    assert.equal(pauseAfterBatch(10, 600, 5_000), 0);
    assert.equal(pauseAfterBatch(0, 600, 0), 0);
    assert.throws(() => batchSlotMs(1, 0), RangeError);
  });

  test('over many batches the rate is never exceeded', () => {
    const rate = 120;
    let clock = 0;
    let sent = 0;
    for (let batch = 0; batch < 50; batch++) {
      const took = (batch * 37) % 400;
      clock += took;
      sent += 7;
      clock += pauseAfterBatch(7, rate, took);
    }
    assert.ok(sent / (clock / 60_000) <= rate + 1e-9, `${sent} in ${clock} ms`);
  });
});

describe('progress counters', () => {
  test('rows become counts per outcome and variant; pending and cancelled are not outcomes', () => {
    const counts = countOutcomes([
      { status: 'sent', variant: 'A', count: 3 },
      { status: 'sent', variant: 'B', count: 2 },
      { status: 'skipped_no_consent', variant: 'B', count: 1 },
      { status: 'failed', variant: 'A', count: 1 },
      { status: 'pending', variant: 'A', count: 9 },
      { status: 'cancelled', variant: 'B', count: 4 },
    ]);
    assert.deepEqual(counts, { sent: 5, failed: 1, skippedNoConsent: 1, variants: { A: { sent: 3, failed: 1, skippedNoConsent: 0 }, B: { sent: 2, failed: 0, skippedNoConsent: 1 } } });
    assert.deepEqual(addProgress(counts, noProgress()), counts);
    assert.equal(addProgress(counts, counts).variants.B.sent, 4);
  });
});

describe('the Schedule plan', () => {
  const now = new Date('2026-11-25T10:00:00.400Z');

  test('one-off now: started on creation, no calendar time, no further action', () => {
    assert.deepEqual(planSchedule({ startsAt: null, recurrence: null, endsAt: null, now }), { spec: {}, remainingActions: 0, triggerImmediately: true });
    // A start time already past (or within the second) is now too: a calendar second gone by would never fire.
    assert.equal(planSchedule({ startsAt: new Date('2026-11-25T09:00:00Z'), recurrence: null, endsAt: null, now }).triggerImmediately, true);
  });

  test('one-off later: that exact second, once', () => {
    const plan = planSchedule({ startsAt: new Date('2026-12-01T08:30:15.200Z'), recurrence: null, endsAt: null, now });
    assert.equal(plan.triggerImmediately, false);
    assert.equal(plan.remainingActions, 1);
    // Rounded up to the second: never early.
    assert.deepEqual(plan.spec.calendars, [calendarAt(new Date('2026-12-01T08:30:16Z'))]);
    assert.deepEqual({ ...plan.spec.calendars![0], comment: undefined }, { year: 2026, month: 'DECEMBER', dayOfMonth: 1, hour: 8, minute: 30, second: 16, comment: undefined });
  });

  test('every interval: the first run falls on the start time, and the end bounds it', () => {
    const start = new Date('2026-12-01T08:30:00Z');
    const end = new Date('2027-01-01T00:00:00Z');
    const plan = planSchedule({ startsAt: start, recurrence: { every: '7 days' }, endsAt: end, now });
    const [interval] = plan.spec.intervals as { every: number; offset: number }[];
    assert.equal((start.getTime() - interval!.offset) % interval!.every, 0, 'the start time is a run time');
    assert.deepEqual([plan.spec.startAt, plan.spec.endAt, plan.triggerImmediately, plan.remainingActions], [start, end, false, undefined]);
  });

  test('every interval from now: one run now, the next one interval later', () => {
    const plan = planSchedule({ startsAt: null, recurrence: { every: '1h' }, endsAt: null, now });
    const [interval] = plan.spec.intervals as { every: number; offset: number }[];
    const anchor = new Date('2026-11-25T10:00:01Z').getTime();
    assert.equal((anchor - interval!.offset) % interval!.every, 0);
    assert.ok(plan.triggerImmediately);
    assert.equal(plan.spec.startAt!.getTime(), anchor + 1_000, 'the anchor itself is the immediate run, not a second one');
  });

  test('cron: the expression, bounded', () => {
    const plan = planSchedule({ startsAt: new Date('2026-12-01T00:00:00Z'), recurrence: { cron: '0 9 * * MON' }, endsAt: null, now });
    assert.deepEqual(plan, { spec: { cronExpressions: ['0 9 * * MON'], startAt: new Date('2026-12-01T00:00:00Z') }, triggerImmediately: false });
  });
});

describe('campaign message rendering', () => {
  const template = { subject: 'Les soldes <enfin>', text: 'Bonjour,\n\n-20 % sur tout & plus encore.' };

  test('text and HTML from the text, escaped, with the consent footer in the language', () => {
    const message = renderCampaignMessage(template, { language: 'fr', channel: 'email', baseUrl: 'https://shop.example/' });
    assert.equal(message.subject, 'Les soldes <enfin>');
    assert.match(message.text, /^Bonjour,\n\n-20 % sur tout & plus encore\.\n\n--\nVous recevez cet email .* https:\/\/shop\.example\/account\/consents\n$/s);
    assert.match(message.html, /<title>Les soldes &lt;enfin&gt;<\/title>/);
    assert.match(message.html, /<p>-20 % sur tout &amp; plus encore\.<\/p>/);
    assert.match(message.html, /<a href="https:\/\/shop\.example\/account\/consents">/);
    assert.match(renderCampaignMessage(template, { language: 'en', channel: 'in_app', baseUrl: 'https://shop.example' }).text, /in the app/);
  });

  test('staff HTML is kept as the body; the sender hands the stored message over unchanged', () => {
    const message = renderCampaignMessage({ ...template, html: '<h1>Soldes</h1>' }, { language: 'fr', channel: 'email', baseUrl: 'https://shop.example' });
    assert.match(message.html, /<body>\n<h1>Soldes<\/h1>\n<hr>/);
    assert.deepEqual(renderCampaignPayload({ language: 'fr', campaignId: 'c', variant: 'A', ...message }), message);
    assert.throws(() => renderCampaignPayload({ language: 'fr' } as { subject?: string }), /subject and text/);
  });
});

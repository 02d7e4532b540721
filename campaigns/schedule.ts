/**
 * When a launched campaign runs, as the Temporal Schedule that starts its `campaign` workflow.
 *
 * Why a Schedule, even for a single send, rather than a workflow started with `startDelay`: ops see
 * and manage every campaign in one place (the Web UI's Schedules page, `temporal schedule list`), the
 * one-off and the recurring campaign take the same path, a Temporal outage at the start time is caught
 * up when the server is back (catch-up window), and cancelling before the start is deleting the Schedule
 * rather than cancelling a workflow that has not begun.
 *
 * - One-off in the future: a calendar entry matching that exact second (UTC) with one action allowed.
 * - One-off now (no start time, or one already past): no calendar time at all, no action allowed by the
 *   spec, and `triggerImmediately`, which starts the run as the Schedule is created.
 * - Every interval: interval spec with its offset chosen so the first run falls on the start time
 *   (Temporal counts intervals from the Unix epoch), bounded by `startAt`/`endAt`.
 * - Cron: the expression (UTC), bounded the same way; it starts now too when no start time is given.
 */
import type { CalendarSpec, ScheduleSpec } from '@temporalio/client';
import { parseEvery, type CampaignRecurrence } from './definition';

export interface SchedulePlan {
  spec: ScheduleSpec;
  /** Actions the spec may still take; undefined for no limit. */
  remainingActions?: number;
  triggerImmediately: boolean;
}

const months = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;

/** The calendar entry matching exactly this second, in UTC. */
export function calendarAt(when: Date): CalendarSpec {
  return {
    year: when.getUTCFullYear(),
    month: months[when.getUTCMonth()]!,
    dayOfMonth: when.getUTCDate(),
    hour: when.getUTCHours(),
    minute: when.getUTCMinutes(),
    second: when.getUTCSeconds(),
    comment: 'one-off campaign start',
  };
}

/** Start times are kept to the second (the Schedule's resolution), rounded up so a run never starts early. */
export const toWholeSecond = (when: Date) => new Date(Math.ceil(when.getTime() / 1000) * 1000);

export function planSchedule(input: { startsAt: Date | null; recurrence: CampaignRecurrence | null; endsAt: Date | null; now: Date }): SchedulePlan {
  const start = input.startsAt ? toWholeSecond(input.startsAt) : null;
  // A start time this close is "now": a calendar second already gone by the time the Schedule exists would never fire.
  const immediate = !start || start.getTime() <= input.now.getTime() + 1_000;
  const bounds = { ...(start && !immediate ? { startAt: start } : {}), ...(input.endsAt ? { endAt: input.endsAt } : {}) };

  if (!input.recurrence) {
    return immediate ? { spec: {}, remainingActions: 0, triggerImmediately: true } : { spec: { calendars: [calendarAt(start!)] }, remainingActions: 1, triggerImmediately: false };
  }
  if ('cron' in input.recurrence) {
    return { spec: { cronExpressions: [input.recurrence.cron], ...bounds }, triggerImmediately: immediate };
  }
  const every = parseEvery(input.recurrence.every);
  if (every === undefined) throw new RangeError(`not an interval: ${input.recurrence.every}`);
  const anchor = immediate ? toWholeSecond(input.now) : start!;
  // Runs fall on epoch + n·every + offset: this offset puts one exactly on the anchor. Started now, the
  // anchor itself is the immediate run, so the spec begins just after it.
  const offset = anchor.getTime() % every;
  const startAt = immediate ? new Date(anchor.getTime() + 1_000) : anchor;
  return { spec: { intervals: [{ every, offset }], ...bounds, startAt }, triggerImmediately: immediate };
}

/**
 * What a campaign is, as plain data: its words in French and English, and when it repeats. Pure: the
 * API validates with these rules, the activities render with them, the tests call them directly.
 */

export const campaignLanguages = ['fr', 'en'] as const;
export type CampaignLanguage = (typeof campaignLanguages)[number];

/** One language's message. `html` is optional: without it the HTML body is made from `text`. */
export interface MessageTemplate {
  subject: string;
  text: string;
  html?: string;
}

export type CampaignTemplate = Record<CampaignLanguage, MessageTemplate>;

/** A repeating campaign: every fixed interval (`"1 day"`, `"6h"`), or on a cron expression (UTC). */
export type CampaignRecurrence = { every: string } | { cron: string };

/** French for any French tag (fr, fr-CA, fr-BE); English otherwise, the shop's fallback. */
export const languageOf = (tag: string | null | undefined): CampaignLanguage => (tag?.toLowerCase().startsWith('fr') ? 'fr' : 'en');

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const unitNames: Record<string, string> = { second: 's', seconds: 's', sec: 's', minute: 'm', minutes: 'm', min: 'm', hour: 'h', hours: 'h', day: 'd', days: 'd' };

/** Shortest and longest interval a campaign may repeat at. */
export const minimumEveryMs = 1_000;
export const maximumEveryMs = 366 * 86_400_000;

/**
 * `"90s"`, `"15 minutes"`, `"1 day"` → milliseconds; undefined for anything else. Deliberately a small
 * grammar: what an admin types is what the Schedule shows, with no surprise from a lenient parser.
 */
export function parseEvery(value: string): number | undefined {
  const match = /^\s*(\d{1,6})\s*([a-z]+)\s*$/i.exec(value);
  if (!match) return undefined;
  const word = match[2]!.toLowerCase();
  const unit = units[word] ?? units[unitNames[word] ?? ''];
  if (unit === undefined) return undefined;
  const ms = Number(match[1]) * unit;
  return ms >= minimumEveryMs && ms <= maximumEveryMs ? ms : undefined;
}

/**
 * Five fields (minute hour day-of-month month day-of-week), each made of digits, names, `*`, `/`, `,`
 * and `-`. Temporal parses it for real when the Schedule is created; this catches typos early with the
 * field named.
 */
export function looksLikeCron(value: string): boolean {
  const fields = value.trim().split(/\s+/);
  return fields.length === 5 && fields.every((field) => /^[0-9A-Za-z*/,?-]+$/.test(field));
}

/**
 * The loyalty programme's rules, in one place: what a point is worth, how many an order earns, how long
 * they last and what the tiers are. Pure (no SDK, no I/O): the `loyaltyAccount` workflow, the ledger
 * activities and the API all compute with these same functions, so the workflow's decisions and the
 * ledger's reads cannot drift apart.
 *
 * - Earning: 1 base point per whole currency unit paid (net of refunds), times the tier's multiplier,
 *   rounded down: 123.45 EUR at silver (×1.25) → floor(123 × 1.25) = 153 points.
 * - Redeeming: 100 points are worth 1.00 in the order's currency (1 point = 1 cent).
 * - Expiry: points expire 12 calendar months after they were earned (UTC; 31 March → 31 March next year,
 *   29 February → 28 February).
 * - Tiers: from the spend of the last 12 months in EUR (other currencies at fixed reference rates):
 *   bronze from 0, silver from 500.00 EUR, gold from 1,500.00 EUR.
 */

export const tierNames = ['bronze', 'silver', 'gold'] as const;
export type TierName = (typeof tierNames)[number];

export interface Tier {
  name: TierName;
  /** Rolling 12-month spend from which the tier is held, in EUR cents. */
  minSpendEur: number;
  /** Points per base point, in percent: 125 → ×1.25. Integer so the rounding is exact. */
  multiplierPct: number;
}

/** Lowest first. */
export const tiers: readonly Tier[] = [
  { name: 'bronze', minSpendEur: 0, multiplierPct: 100 },
  { name: 'silver', minSpendEur: 50_000, multiplierPct: 125 },
  { name: 'gold', minSpendEur: 150_000, multiplierPct: 150 },
];

export const pointsValidityMonths = 12;
export const spendWindowMonths = 12;
/** How many points make one whole currency unit at checkout. */
export const pointsPerCurrencyUnit = 100;
/** `GET /v1/me/loyalty` lists points expiring within this many days. */
export const expiringSoonDays = 30;

interface CurrencyRule {
  /** Minor units per major unit, as a power of ten. */
  exponent: number;
  /**
   * EUR per unit of this currency, in ten-thousandths: the tier spend is counted in EUR at these fixed
   * reference rates, taken when the spend is recorded (a later change applies to later orders only).
   */
  eurRate: number;
}

/** The currencies the shop sells in (orders/shipping.ts); an order in another one earns nothing. */
export const loyaltyCurrencies: Readonly<Record<string, CurrencyRule>> = {
  EUR: { exponent: 2, eurRate: 10_000 },
  USD: { exponent: 2, eurRate: 9_200 },
  GBP: { exponent: 2, eurRate: 11_700 },
};

export function isLoyaltyCurrency(currency: string): boolean {
  return Object.hasOwn(loyaltyCurrencies, currency);
}

function rule(currency: string): CurrencyRule {
  const found = loyaltyCurrencies[currency];
  if (!found) throw new RangeError(`currency ${currency} is not part of the loyalty programme`);
  return found;
}

export function tierNamed(name: TierName): Tier {
  return tiers.find((tier) => tier.name === name)!;
}

/** Points an amount paid earns at a multiplier: floor(whole units × multiplier). Never negative. */
export function pointsEarned(amountMinor: number, currency: string, multiplierPct: number): number {
  if (amountMinor <= 0) return 0;
  const wholeUnits = Math.floor(amountMinor / 10 ** rule(currency).exponent);
  return Math.floor((wholeUnits * multiplierPct) / 100);
}

/** An amount in EUR cents for the tier spend, rounded towards zero. */
export function spendInEur(amountMinor: number, currency: string): number {
  const { exponent, eurRate } = rule(currency);
  return Math.trunc((amountMinor * eurRate * 10 ** (2 - exponent)) / 10_000);
}

/** What `points` take off an order, in its currency's minor units (rounded down). */
export function valueOfPoints(points: number, currency: string): number {
  return Math.floor((points * 10 ** rule(currency).exponent) / pointsPerCurrencyUnit);
}

/** The fewest points worth at least `amountMinor`. */
export function pointsForValue(amountMinor: number, currency: string): number {
  return Math.ceil((amountMinor * pointsPerCurrencyUnit) / 10 ** rule(currency).exponent);
}

export function tierForSpend(spendEur: number): Tier {
  let held = tiers[0]!;
  for (const tier of tiers) if (spendEur >= tier.minSpendEur) held = tier;
  return held;
}

/** The next tier up and the spend still missing to reach it; null at the top. */
export function nextTierFor(spendEur: number): { tier: Tier; missingEur: number } | null {
  const next = tiers.find((tier) => tier.minSpendEur > spendEur);
  return next ? { tier: next, missingEur: next.minSpendEur - spendEur } : null;
}

/**
 * `months` calendar months after `ms`, in UTC, at the same time of day; a day the target month lacks
 * becomes its last day (31 March + 1 month → 30 April).
 */
export function addMonthsUtc(ms: number, months: number): number {
  const date = new Date(ms);
  const firstOfTarget = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1);
  const target = new Date(firstOfTarget);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(
    target.getUTCFullYear(),
    target.getUTCMonth(),
    Math.min(date.getUTCDate(), lastDay),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  );
}

/** When points earned at `earnedAtMs` expire. */
export const expiryOf = (earnedAtMs: number): number => addMonthsUtc(earnedAtMs, pointsValidityMonths);

/** When spend counted at `spendAtMs` leaves the rolling window (it counts strictly before this instant). */
export const spendRollsOutAt = (spendAtMs: number): number => addMonthsUtc(spendAtMs, spendWindowMonths);

/** The rolling 12-month spend at `nowMs` from spend records (signed EUR cents, each counted from its `at`). */
export function rollingSpend(records: Iterable<{ eur: number; atMs: number }>, nowMs: number): number {
  let total = 0;
  for (const record of records) if (record.atMs <= nowMs && spendRollsOutAt(record.atMs) > nowMs) total += record.eur;
  return Math.max(0, total);
}

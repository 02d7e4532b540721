/**
 * VAT by destination country and product tax category, and the integer arithmetic that goes with it.
 *
 * Catalog prices include VAT (as shoppers in the EU see them), so the tax of an amount is the part of
 * it that is VAT: amount × rate / (1 + rate), rounded half up once per line. Rates are basis points so
 * the arithmetic stays in integers. Sales to consumers elsewhere in the EU are taxed at the
 * destination's rate (the OSS distance-selling rules since July 2021); exports outside the EU carry no
 * VAT. The cart, the order, the invoice and its credit notes all call these functions, so the figures
 * a shopper sees are the figures invoiced.
 */

export const taxCategories = ['standard', 'reduced', 'super_reduced', 'zero'] as const;
/**
 * What the catalog says about a product: `standard` for most goods; `reduced` for what a country taxes at
 * its main reduced rate (food, books); `super_reduced` for its lowest positive rate (press, some medicines:
 * FR 2.1 %, ES/IT 4 %), which is the reduced rate where a country has none lower; `zero` for zero-rated goods.
 */
export type TaxCategory = (typeof taxCategories)[number];

export const isTaxCategory = (value: unknown): value is TaxCategory => typeof value === 'string' && (taxCategories as readonly string[]).includes(value);

interface CountryRates {
  standard: number;
  reduced: number;
  superReduced: number;
}

const rates = (standard: number, reduced: number, superReduced = reduced): CountryRates => ({ standard, reduced, superReduced });

/**
 * Default rates in basis points, as in force in 2025 (European Commission, "VAT rates applied in the
 * Member States"). They are defaults to check with an accountant before going live, not a legal database:
 * a country's rates change by law, and a product's category is the merchant's call.
 */
const countryRates: Record<string, CountryRates> = {
  FR: rates(2000, 550, 210),
  // Monaco is inside the French VAT territory.
  MC: rates(2000, 550, 210),
  DE: rates(1900, 700),
  BE: rates(2100, 600),
  ES: rates(2100, 1000, 400),
  IT: rates(2200, 1000, 400),
  NL: rates(2100, 900),
  PT: rates(2300, 600),
  IE: rates(2300, 1350, 480),
  AT: rates(2000, 1000),
  LU: rates(1700, 800, 300),
  BG: rates(2000, 900),
  HR: rates(2500, 1300, 500),
  CY: rates(1900, 900, 500),
  CZ: rates(2100, 1200),
  // Denmark has no reduced rate.
  DK: rates(2500, 2500),
  EE: rates(2400, 900),
  FI: rates(2550, 1400, 1000),
  GR: rates(2400, 1300, 600),
  HU: rates(2700, 1800, 500),
  LV: rates(2100, 1200, 500),
  LT: rates(2100, 900, 500),
  MT: rates(1800, 700, 500),
  PL: rates(2300, 800, 500),
  RO: rates(2100, 1100),
  SK: rates(2300, 1900, 500),
  SI: rates(2200, 950, 500),
  SE: rates(2500, 1200, 600),
  // Not in the EU: the seller collects UK VAT at the sale on low-value consignments (since 2021).
  GB: rates(2000, 500),
};

/** The shop's home country: its rates apply while no destination is known (a cart without an address). */
export const homeCountry = 'FR';
export const defaultVatBasisPoints = countryRates[homeCountry]!.standard;

/**
 * Basis points of VAT for a destination and a product category; 0 outside the table (exports), the home
 * country's rate while no destination is known.
 */
export function vatRate(country: string | undefined, category: TaxCategory = 'standard'): number {
  const table = countryRates[country ?? homeCountry];
  if (!table || category === 'zero') return 0;
  if (category === 'reduced') return table.reduced;
  if (category === 'super_reduced') return table.superReduced;
  return table.standard;
}

/** The VAT included in `grossAmount` (minor units), rounded half up. */
export function includedVat(grossAmount: number, basisPoints: number): number {
  if (basisPoints === 0) return 0;
  return Math.floor((grossAmount * basisPoints + (10_000 + basisPoints) / 2) / (10_000 + basisPoints));
}

/**
 * Splits `total` (minor units, ≥ 0) into parts proportional to `weights` that add up to `total` exactly
 * (largest remainder): each part is the floor of its exact share, and the cents left over go one each to
 * the largest fractional remainders, the earlier weight first on a tie, so the split is the same every
 * time. With `total` ≤ the sum of the weights, no part exceeds its weight. BigInt inside: amount ×
 * weight can pass 2^53.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`cannot allocate ${total}`);
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0)) throw new RangeError('weights must be non-negative integers');
  const sum = weights.reduce((a, b) => a + BigInt(b), 0n);
  if (total === 0) return weights.map(() => 0);
  if (sum === 0n) throw new RangeError(`cannot allocate ${total} over nothing`);
  const big = BigInt(total);
  const parts = weights.map((w) => (big * BigInt(w)) / sum);
  const remainders = weights.map((w, index) => ({ index, remainder: (big * BigInt(w)) % sum }));
  let left = big - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (left === 0n) break;
    parts[index]! += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** `value × numerator / denominator`, rounded half up, in integers (for a share of an amount of VAT). */
export function proportion(value: number, numerator: number, denominator: number): number {
  if (denominator <= 0) throw new RangeError('denominator must be positive');
  const scaled = BigInt(value) * BigInt(numerator) * 2n + BigInt(denominator);
  return Number(scaled / (2n * BigInt(denominator)));
}

export interface TaxedAmount {
  rateBasisPoints: number;
  grossAmount: number;
  vatAmount: number;
}

/**
 * Shipping follows the goods it carries (an ancillary supply takes the VAT of the principal one): with
 * goods at several rates it is split across them in proportion to their value, one part per rate, highest
 * rate first. With no goods of any value it carries the standard rate.
 */
export function shippingVat(country: string | undefined, shippingAmount: number, goods: readonly { grossAmount: number; rateBasisPoints: number }[]): TaxedAmount[] {
  if (shippingAmount <= 0) return [];
  const byRate = new Map<number, number>();
  for (const line of goods) if (line.grossAmount > 0) byRate.set(line.rateBasisPoints, (byRate.get(line.rateBasisPoints) ?? 0) + line.grossAmount);
  if (byRate.size === 0) byRate.set(vatRate(country, 'standard'), 1);
  const ratesDesc = [...byRate.keys()].sort((a, b) => b - a);
  const parts = allocate(shippingAmount, ratesDesc.map((rate) => byRate.get(rate)!));
  return ratesDesc
    .map((rate, index) => ({ rateBasisPoints: rate, grossAmount: parts[index]!, vatAmount: includedVat(parts[index]!, rate) }))
    .filter((part) => part.grossAmount > 0);
}

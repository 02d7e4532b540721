/**
 * VAT by destination country. Catalog prices include VAT (as shoppers in the EU see them), so the tax
 * of an amount is the part of it that is VAT: amount × rate / (1 + rate), rounded half up per line.
 * Rates in basis points keep the arithmetic in integers.
 */
const vatBasisPoints: Record<string, number> = {
  FR: 2000, DE: 1900, ES: 2100, IT: 2200, BE: 2100, NL: 2100, PT: 2300, IE: 2300, AT: 2000, LU: 1700, GB: 2000,
};
/** Where no rate is known (or no address yet), the shop's home rate. */
export const defaultVatBasisPoints = 2000;

/** Basis points of VAT for a destination; 0 outside the table (exports), the home rate while no destination is known. */
export function vatRate(country: string | undefined): number {
  if (country === undefined) return defaultVatBasisPoints;
  return vatBasisPoints[country] ?? 0;
}

/** The VAT included in `grossAmount` (minor units), rounded half up. */
export function includedVat(grossAmount: number, basisPoints: number): number {
  if (basisPoints === 0) return 0;
  return Math.floor((grossAmount * basisPoints + (10_000 + basisPoints) / 2) / (10_000 + basisPoints));
}

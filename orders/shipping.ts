/**
 * Shipping methods and their price. Flat rates per method and currency, free above a threshold for
 * standard delivery; a carrier-rated table replaces this when fulfilment (issue 7) brings carriers.
 */
export const shippingMethods = ['standard', 'express', 'pickup'] as const;
export type ShippingMethod = (typeof shippingMethods)[number];

interface Rate {
  amount: number;
  /** Subtotal (minor units) from which the method is free; undefined when it never is. */
  freeFrom?: number;
}

const rates: Record<ShippingMethod, Record<string, Rate>> = {
  standard: { EUR: { amount: 490, freeFrom: 6000 }, USD: { amount: 590, freeFrom: 7500 }, GBP: { amount: 450, freeFrom: 5000 } },
  express: { EUR: { amount: 1290 }, USD: { amount: 1490 }, GBP: { amount: 1190 } },
  pickup: { EUR: { amount: 0 }, USD: { amount: 0 }, GBP: { amount: 0 } },
};

/** Undefined when the method does not ship in that currency. */
export function shippingCost(method: ShippingMethod, currency: string, subtotal: number): number | undefined {
  const rate = rates[method][currency];
  if (!rate) return undefined;
  return rate.freeFrom !== undefined && subtotal >= rate.freeFrom ? 0 : rate.amount;
}

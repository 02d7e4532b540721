/**
 * Prices a cart: lines, shipping, taxes and the total, always on the server from the catalog's
 * current prices. Pure: the cart API and the checkout's `priceCart` activity both call it with what
 * they read, so the shopper sees the same figures the order is created with. Promotions and loyalty
 * (issue 8) will add their adjustments here, between the subtotal and the tax.
 */
import type { VariantForSale } from '../db/catalog';
import { shippingCost, type ShippingMethod } from './shipping';
import { includedVat, vatRate } from './tax';

export const maxQuantityPerLine = 20;

export interface CartLineInput {
  sku: string;
  quantity: number;
}

export type LineProblem = 'unknown_sku' | 'not_for_sale' | 'no_price_in_currency' | 'quantity_above_stock';

export interface PricedLine {
  sku: string;
  title: string;
  slug: string | null;
  quantity: number;
  unitAmount: number;
  lineAmount: number;
  taxAmount: number;
  /** A hint only: stock is reserved at checkout, not while the item sits in a cart. */
  available: number;
  problem?: LineProblem;
}

export interface PricedCart {
  currency: string;
  lines: PricedLine[];
  subtotalAmount: number;
  shippingAmount: number;
  discountAmount: number;
  taxAmount: number;
  totalAmount: number;
  /** True when every line can be bought as it is: no problem on any line, and a shipping price exists. */
  purchasable: boolean;
}

export interface PricingInput {
  currency: string;
  lines: CartLineInput[];
  variants: Map<string, VariantForSale>;
  availability: Map<string, number>;
  shipping?: { method: ShippingMethod; country: string };
}

export function priceCart(input: PricingInput): PricedCart {
  const rate = vatRate(input.shipping?.country);
  const lines: PricedLine[] = [...input.lines]
    .sort((a, b) => a.sku.localeCompare(b.sku))
    .map((line) => {
      const variant = input.variants.get(line.sku);
      const available = Math.max(0, input.availability.get(line.sku) ?? 0);
      const unitAmount = variant?.amount ?? 0;
      const lineAmount = unitAmount * line.quantity;
      const problem: LineProblem | undefined = !variant
        ? 'unknown_sku'
        : !variant.published
          ? 'not_for_sale'
          : variant.amount === null
            ? 'no_price_in_currency'
            : line.quantity > available
              ? 'quantity_above_stock'
              : undefined;
      return {
        sku: line.sku,
        title: variant?.title ?? line.sku,
        slug: variant?.slug ?? null,
        quantity: line.quantity,
        unitAmount,
        lineAmount: problem && problem !== 'quantity_above_stock' ? 0 : lineAmount,
        taxAmount: problem && problem !== 'quantity_above_stock' ? 0 : includedVat(lineAmount, rate),
        available,
        ...(problem ? { problem } : {}),
      };
    });
  const subtotalAmount = lines.reduce((sum, line) => sum + line.lineAmount, 0);
  const shipping = input.shipping ? shippingCost(input.shipping.method, input.currency, subtotalAmount) : 0;
  const shippingAmount = shipping ?? 0;
  const taxAmount = lines.reduce((sum, line) => sum + line.taxAmount, 0) + includedVat(shippingAmount, rate);
  return {
    currency: input.currency,
    lines,
    subtotalAmount,
    shippingAmount,
    discountAmount: 0,
    taxAmount,
    totalAmount: subtotalAmount + shippingAmount,
    purchasable: lines.length > 0 && lines.every((line) => !line.problem) && shipping !== undefined,
  };
}

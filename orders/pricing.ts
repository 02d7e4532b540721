/**
 * Prices a cart: lines, shipping, taxes and the total, always on the server from the catalog's
 * current prices. Pure: the cart API and the checkout's `priceCart` activity both call it with what
 * they read, so the shopper sees the same figures the order is created with. Promotions and loyalty
 * (issue 8) will add their adjustments here, between the subtotal and the tax.
 */
import type { VariantForSale } from '../db/catalog';
import { shippingCost, type ShippingMethod } from './shipping';
import { includedVat, shippingVat, vatRate } from './tax';

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
  /** Taken off `lineAmount` by promotions; the VAT is on what is left. */
  discountAmount: number;
  taxAmount: number;
  /** A hint only: stock is reserved at checkout, not while the item sits in a cart. */
  available: number;
  problem?: LineProblem;
}

export interface PricedCart {
  currency: string;
  lines: PricedLine[];
  subtotalAmount: number;
  /** What shipping costs the shopper, after any free-shipping promotion. */
  shippingAmount: number;
  /** Taken off shipping by promotions (already out of `shippingAmount`). */
  shippingDiscountAmount: number;
  /** Taken off the lines by promotions: the sum of the lines' `discountAmount`. */
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
  /** Minor units off each line (by sku) and off shipping, as the promotions engine decided them. */
  discounts?: { lines: Record<string, number>; shipping: number };
}

export function priceCart(input: PricingInput): PricedCart {
  const country = input.shipping?.country;
  const rates = new Map<string, number>();
  const lines: PricedLine[] = [...input.lines]
    .sort((a, b) => a.sku.localeCompare(b.sku))
    .map((line) => {
      const variant = input.variants.get(line.sku);
      // The same rate the invoice will use: destination and the product's tax category.
      const rate = vatRate(country, variant?.taxCategory ?? 'standard');
      rates.set(line.sku, rate);
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
      const priced = problem && problem !== 'quantity_above_stock' ? 0 : lineAmount;
      const discountAmount = Math.min(priced, Math.max(0, input.discounts?.lines[line.sku] ?? 0));
      return {
        sku: line.sku,
        title: variant?.title ?? line.sku,
        slug: variant?.slug ?? null,
        quantity: line.quantity,
        unitAmount,
        lineAmount: priced,
        discountAmount,
        taxAmount: includedVat(priced - discountAmount, rate),
        available,
        ...(problem ? { problem } : {}),
      };
    });
  const subtotalAmount = lines.reduce((sum, line) => sum + line.lineAmount, 0);
  const discountAmount = lines.reduce((sum, line) => sum + line.discountAmount, 0);
  // The shipping price follows the goods before discounts: a coupon does not cost the shopper free delivery.
  const shipping = input.shipping ? shippingCost(input.shipping.method, input.currency, subtotalAmount) : 0;
  const shippingDiscountAmount = Math.min(shipping ?? 0, Math.max(0, input.discounts?.shipping ?? 0));
  const shippingAmount = (shipping ?? 0) - shippingDiscountAmount;
  // Shipping's VAT follows the goods as they are paid for, as the invoice splits it.
  const goods = lines.map((line) => ({ grossAmount: line.lineAmount - line.discountAmount, rateBasisPoints: rates.get(line.sku)! }));
  const shippingTax = shippingVat(country, shippingAmount, goods).reduce((sum, part) => sum + part.vatAmount, 0);
  const taxAmount = lines.reduce((sum, line) => sum + line.taxAmount, 0) + shippingTax;
  return {
    currency: input.currency,
    lines,
    subtotalAmount,
    shippingAmount,
    shippingDiscountAmount,
    discountAmount,
    taxAmount,
    totalAmount: subtotalAmount - discountAmount + shippingAmount,
    purchasable: lines.length > 0 && lines.every((line) => !line.problem) && shipping !== undefined,
  };
}

/**
 * The lines of an invoice, from an order as it was priced: pure arithmetic, in integer minor units.
 *
 * Each goods line carries the destination's rate for its product's tax category; its VAT is the VAT
 * included in its gross amount, rounded half up once per line, exactly as the cart and the order computed
 * it (orders/pricing.ts), so the invoice says what the shopper was shown. A discount on the order is
 * spread over the goods lines in proportion to their value (largest remainder, to the cent). Shipping is
 * a line too, split per VAT rate of the goods it carries. Every line has gross = net + VAT, and the gross
 * amounts add up to the order's total exactly.
 */
import { allocate, includedVat, shippingVat, vatRate, type TaxCategory } from '../orders/tax';

export interface OrderLineForInvoice {
  sku: string;
  title: string;
  quantity: number;
  /** Unit price, VAT included. */
  unitAmount: number;
  lineAmount: number;
  /** What promotions took off this line, when the order recorded it. */
  discountAmount?: number;
  taxCategory: TaxCategory;
}

export interface OrderForInvoice {
  destinationCountry: string;
  shippingMethod: string;
  shippingAmount: number;
  discountAmount: number;
  totalAmount: number;
  lines: OrderLineForInvoice[];
}

export interface InvoiceLineDraft {
  position: number;
  kind: 'goods' | 'shipping';
  sku: string | null;
  description: string;
  quantity: number;
  unitGross: number;
  discount: number;
  /** The product's category; `shipping` for shipping, which follows the goods. */
  taxCategory: TaxCategory | 'shipping';
  vatRateBp: number;
  gross: number;
  vat: number;
  net: number;
}

export interface VatSummaryLine {
  vatRateBp: number;
  gross: number;
  vat: number;
  net: number;
}

export interface Totals {
  gross: number;
  vat: number;
  net: number;
}

/** The order's figures do not add up (a bug upstream): nothing is issued from them. */
export class InvoiceArithmeticError extends Error {
  override name = 'InvoiceArithmeticError';
}

export const percentText = (basisPoints: number) => `${(basisPoints / 100).toFixed(2).replace(/\.?0+$/, '')} %`;

export function draftInvoiceLines(order: OrderForInvoice): InvoiceLineDraft[] {
  const goods = [...order.lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const subtotal = goods.reduce((sum, line) => sum + line.lineAmount, 0);
  if (order.discountAmount < 0 || order.discountAmount > subtotal) throw new InvoiceArithmeticError(`a discount of ${order.discountAmount} on goods worth ${subtotal}`);
  // Promotions say what they took off each line (the cart's VAT was on what was left): the invoice says
  // the same. Orders from before per-line discounts spread theirs pro rata.
  const perLine = goods.map((line) => line.discountAmount ?? 0);
  const discounts =
    order.discountAmount === 0
      ? goods.map(() => 0)
      : perLine.reduce((sum, value) => sum + value, 0) === order.discountAmount
        ? perLine
        : allocate(order.discountAmount, goods.map((line) => line.lineAmount));

  const lines: InvoiceLineDraft[] = goods.map((line, index) => {
    const gross = line.lineAmount - discounts[index]!;
    const vatRateBp = vatRate(order.destinationCountry, line.taxCategory);
    const vat = includedVat(gross, vatRateBp);
    return {
      position: index + 1,
      kind: 'goods',
      sku: line.sku,
      description: line.title,
      quantity: line.quantity,
      unitGross: line.unitAmount,
      discount: discounts[index]!,
      taxCategory: line.taxCategory,
      vatRateBp,
      gross,
      vat,
      net: gross - vat,
    };
  });

  const shipping = shippingVat(
    order.destinationCountry,
    order.shippingAmount,
    lines.map((line) => ({ grossAmount: line.gross, rateBasisPoints: line.vatRateBp })),
  );
  for (const part of shipping) {
    lines.push({
      position: lines.length + 1,
      kind: 'shipping',
      sku: null,
      description: shipping.length > 1 ? `Shipping (${order.shippingMethod}), part at ${percentText(part.rateBasisPoints)}` : `Shipping (${order.shippingMethod})`,
      quantity: 1,
      unitGross: part.grossAmount,
      discount: 0,
      taxCategory: 'shipping',
      vatRateBp: part.rateBasisPoints,
      gross: part.grossAmount,
      vat: part.vatAmount,
      net: part.grossAmount - part.vatAmount,
    });
  }

  const total = totalsOf(lines);
  if (total.gross !== order.totalAmount) throw new InvoiceArithmeticError(`the lines add up to ${total.gross}, the order says ${order.totalAmount}`);
  return lines;
}

/** Per VAT rate, highest first: what the invoice (or a credit note) must show by law. */
export function vatSummary(lines: readonly { vatRateBp: number; gross: number; vat: number; net: number }[]): VatSummaryLine[] {
  const byRate = new Map<number, VatSummaryLine>();
  for (const line of lines) {
    const entry = byRate.get(line.vatRateBp) ?? { vatRateBp: line.vatRateBp, gross: 0, vat: 0, net: 0 };
    entry.gross += line.gross;
    entry.vat += line.vat;
    entry.net += line.net;
    byRate.set(line.vatRateBp, entry);
  }
  return [...byRate.values()].sort((a, b) => b.vatRateBp - a.vatRateBp);
}

export function totalsOf(lines: readonly { gross: number; vat: number; net: number }[]): Totals {
  return lines.reduce((sum, line) => ({ gross: sum.gross + line.gross, vat: sum.vat + line.vat, net: sum.net + line.net }), { gross: 0, vat: 0, net: 0 });
}

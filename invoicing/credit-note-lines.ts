/**
 * What a credit note gives back, from the invoice, what earlier credit notes gave back already, and a
 * refund: pure arithmetic in integer minor units. The credit note's gross total is the refunded amount,
 * to the cent, and nothing is ever credited beyond what was invoiced, per VAT rate.
 *
 * - With `lines` (sku, quantity): each returned unit is credited at its invoiced value (the units of a
 *   line are valued so that crediting all of them, in however many notes, gives back exactly the line).
 *   A refund smaller than those units' value is spread over them in proportion (a partial refund of a
 *   return); a larger one credits the rest per VAT rate, as below (shipping given back with a return).
 * - Without lines (goodwill, cancellation): the amount is split across the invoice's VAT rates in
 *   proportion to what is still uncredited at each rate.
 *
 * The VAT of what is credited at a rate is its share of the VAT still uncredited at that rate, so the
 * note that empties a rate gives back exactly the VAT left on it, and invoice − credit notes never
 * leaves a stray cent of VAT.
 */
import { allocate, proportion } from '../orders/tax';
import { percentText } from './invoice-lines';

export interface InvoicedLine {
  position: number;
  kind: 'goods' | 'shipping';
  sku: string | null;
  description: string;
  quantity: number;
  vatRateBp: number;
  gross: number;
  vat: number;
}

/** A line of an earlier credit note of the same invoice. */
export interface CreditedLine {
  kind: 'goods' | 'adjustment';
  invoiceLinePosition: number | null;
  quantity: number | null;
  vatRateBp: number;
  gross: number;
  vat: number;
}

export interface RefundLine {
  sku: string;
  quantity: number;
}

export interface CreditRequest {
  amount: number;
  lines?: readonly RefundLine[];
}

export interface CreditNoteLineDraft {
  position: number;
  kind: 'goods' | 'adjustment';
  invoiceLinePosition: number | null;
  sku: string | null;
  description: string;
  quantity: number | null;
  vatRateBp: number;
  gross: number;
  vat: number;
  net: number;
}

/** The request cannot be credited as asked; `field` names what is wrong (`amount`, `lines.0.sku`, …). */
export class CreditNoteRefused extends Error {
  override name = 'CreditNoteRefused';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The value of the first `units` of a line of `quantity` units worth `gross`: the last unit takes what rounding left. */
const valueOfUnits = (gross: number, units: number, quantity: number) => (units >= quantity ? gross : Math.floor((gross * units) / quantity));

/**
 * `strict` (before any money moves): an unknown SKU, a repeated one, or more units than are left to
 * credit is refused. Not strict (the money was refunded already, a credit note must follow): unknown
 * SKUs are skipped and quantities capped at what is left, and the amount still gets credited in full.
 * An amount above what is left on the invoice is refused either way: no credit note may exceed it.
 */
export function draftCreditNoteLines(invoice: readonly InvoicedLine[], credited: readonly CreditedLine[], request: CreditRequest, options: { strict: boolean }): CreditNoteLineDraft[] {
  const { amount } = request;
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new CreditNoteRefused('amount', 'must be a positive integer (minor units)');

  const remaining = new Map<number, { gross: number; vat: number }>();
  for (const line of invoice) {
    const entry = remaining.get(line.vatRateBp) ?? { gross: 0, vat: 0 };
    remaining.set(line.vatRateBp, { gross: entry.gross + line.gross, vat: entry.vat + line.vat });
  }
  for (const line of credited) {
    const entry = remaining.get(line.vatRateBp) ?? { gross: 0, vat: 0 };
    remaining.set(line.vatRateBp, { gross: entry.gross - line.gross, vat: entry.vat - line.vat });
  }
  const left = [...remaining.values()].reduce((sum, entry) => sum + entry.gross, 0);
  if (amount > left) throw new CreditNoteRefused('amount', `exceeds what is left to credit on the invoice (${left})`);

  // 1. The units given back, at their invoiced value.
  type Wanted = { line: InvoicedLine; units: number; gross: number };
  const wanted: Wanted[] = [];
  const seen = new Set<string>();
  (request.lines ?? []).forEach((asked, index) => {
    const line = invoice.find((candidate) => candidate.kind === 'goods' && candidate.sku === asked.sku);
    const already = wanted.find((w) => w.line.sku === asked.sku);
    if (options.strict) {
      if (!Number.isSafeInteger(asked.quantity) || asked.quantity <= 0) throw new CreditNoteRefused(`lines.${index}.quantity`, 'must be a positive integer');
      if (!line) throw new CreditNoteRefused(`lines.${index}.sku`, `${asked.sku} is not on the invoice`);
      if (seen.has(asked.sku)) throw new CreditNoteRefused(`lines.${index}.sku`, `${asked.sku} is listed twice`);
    }
    seen.add(asked.sku);
    if (!line || !Number.isSafeInteger(asked.quantity) || asked.quantity <= 0) return;
    const creditedUnits = credited.filter((c) => c.kind === 'goods' && c.invoiceLinePosition === line.position).reduce((sum, c) => sum + (c.quantity ?? 0), 0);
    const before = creditedUnits + (already?.units ?? 0);
    const leftUnits = line.quantity - before;
    if (options.strict && asked.quantity > leftUnits) throw new CreditNoteRefused(`lines.${index}.quantity`, `only ${Math.max(0, leftUnits)} of ${asked.sku} left to credit`);
    const units = Math.min(asked.quantity, leftUnits);
    if (units <= 0) return;
    const gross = valueOfUnits(line.gross, before + units, line.quantity) - valueOfUnits(line.gross, before, line.quantity);
    if (already) {
      already.units += units;
      already.gross += gross;
    } else {
      wanted.push({ line, units, gross });
    }
  });

  // 2. A refund below the units' value is spread over them; above it, the rest is credited per rate below.
  const unitsValue = wanted.reduce((sum, w) => sum + w.gross, 0);
  let rest = Math.max(0, amount - unitsValue);
  if (amount < unitsValue) allocate(amount, wanted.map((w) => w.gross)).forEach((gross, i) => (wanted[i]!.gross = gross));

  // 3. Never beyond a rate's uncredited amount (an earlier goodwill refund may have taken it): the excess moves to the other rates.
  for (const [rate, entry] of remaining) {
    const atRate = wanted.filter((w) => w.line.vatRateBp === rate);
    const sum = atRate.reduce((total, w) => total + w.gross, 0);
    if (sum <= entry.gross) continue;
    allocate(entry.gross, atRate.map((w) => w.gross)).forEach((gross, i) => (atRate[i]!.gross = gross));
    rest += sum - entry.gross;
  }

  // 4. The rest, across the rates in proportion to what each still has uncredited, highest rate first.
  const rates = [...remaining.keys()].sort((a, b) => b - a);
  const room = rates.map((rate) => remaining.get(rate)!.gross - wanted.filter((w) => w.line.vatRateBp === rate).reduce((sum, w) => sum + w.gross, 0));
  const adjustments = rest > 0 ? allocate(rest, room) : rates.map(() => 0);

  const drafts: Omit<CreditNoteLineDraft, 'vat' | 'net' | 'position'>[] = [
    ...wanted.map((w) => ({
      kind: 'goods' as const,
      invoiceLinePosition: w.line.position,
      sku: w.line.sku,
      description: w.line.description,
      quantity: w.units,
      vatRateBp: w.line.vatRateBp,
      gross: w.gross,
    })),
    ...rates
      .map((rate, i) => ({
        kind: 'adjustment' as const,
        invoiceLinePosition: null,
        sku: null,
        description: `Amount refunded, VAT ${percentText(rate)}`,
        quantity: null,
        vatRateBp: rate,
        gross: adjustments[i]!,
      }))
      .filter((line) => line.gross > 0),
  ];

  // 5. VAT per rate: the share of the VAT still uncredited at that rate, spread over the note's lines at that rate.
  const vats = new Array<number>(drafts.length).fill(0);
  for (const rate of rates) {
    const indexes = drafts.flatMap((draft, i) => (draft.vatRateBp === rate ? [i] : []));
    const gross = indexes.reduce((sum, i) => sum + drafts[i]!.gross, 0);
    if (gross === 0) continue;
    const entry = remaining.get(rate)!;
    const vat = gross === entry.gross ? entry.vat : proportion(entry.vat, gross, entry.gross);
    allocate(vat, indexes.map((i) => drafts[i]!.gross)).forEach((part, k) => (vats[indexes[k]!] = part));
  }
  return drafts.map((draft, i) => ({ ...draft, position: i + 1, vat: vats[i]!, net: draft.gross - vats[i]! }));
}

/**
 * An invoice as it is shown — to its owner as JSON, as a printable page, in a personal-data export —
 * with its credit notes: lines, VAT per rate and totals, all read from the stored immutable rows (never
 * recomputed, so a later change of rates or prices cannot alter an issued document).
 */
import { creditNotesOfInvoice, invoiceLinesOf, invoiceOfOrder, type InvoiceRow } from '../db/invoices';
import type { SellerDetails } from '../db/schema/invoicing';
import type { Config } from '../platform/config';
import type { Executor } from '../platform/postgres';
import { totalsOf, vatSummary, type Totals, type VatSummaryLine } from './invoice-lines';
import { openBuyer, type InvoiceBuyer } from './invoices';

export interface DocumentLine {
  position: number;
  kind: string;
  sku: string | null;
  description: string;
  quantity: number | null;
  unitGross: number | null;
  discount: number;
  vatRateBp: number;
  gross: number;
  vat: number;
  net: number;
}

export interface CreditNoteDocument {
  id: string;
  number: string;
  issuedAt: Date;
  refundId: string;
  reason: string;
  lines: DocumentLine[];
  vatSummary: VatSummaryLine[];
  totals: Totals;
}

export interface InvoiceDocument {
  id: string;
  number: string;
  orderId: string;
  issuedAt: Date;
  currency: string;
  destinationCountry: string;
  seller: SellerDetails;
  buyer: InvoiceBuyer | null;
  lines: DocumentLine[];
  vatSummary: VatSummaryLine[];
  totals: Totals;
  creditNotes: CreditNoteDocument[];
  /** What the invoice still stands for once its credit notes are deducted. */
  balance: Totals;
}

export async function invoiceDocument(db: Executor, config: Pick<Config, 'pii'>, invoice: InvoiceRow): Promise<InvoiceDocument> {
  const [lines, notes] = await Promise.all([invoiceLinesOf(db, invoice.id), creditNotesOfInvoice(db, invoice.id)]);
  const creditNotes = notes.map((note) => {
    const noteLines: DocumentLine[] = note.lines.map((line) => ({
      position: line.position,
      kind: line.kind,
      sku: line.sku,
      description: line.description,
      quantity: line.quantity,
      unitGross: null,
      discount: 0,
      vatRateBp: line.vatRateBp,
      gross: line.gross,
      vat: line.vat,
      net: line.net,
    }));
    return {
      id: note.id,
      number: note.number,
      issuedAt: note.issuedAt,
      refundId: note.refundId,
      reason: note.reason,
      lines: noteLines,
      vatSummary: vatSummary(noteLines),
      totals: { gross: note.totalGross, vat: note.totalVat, net: note.totalNet },
    };
  });
  const credited = totalsOf(creditNotes.map((note) => note.totals));
  return {
    id: invoice.id,
    number: invoice.number,
    orderId: invoice.orderId,
    issuedAt: invoice.issuedAt,
    currency: invoice.currency,
    destinationCountry: invoice.destinationCountry,
    seller: invoice.seller,
    buyer: openBuyer(config, invoice),
    lines: lines.map((line) => ({
      position: line.position,
      kind: line.kind,
      sku: line.sku,
      description: line.description,
      quantity: line.quantity,
      unitGross: line.unitGross,
      discount: line.discount,
      vatRateBp: line.vatRateBp,
      gross: line.gross,
      vat: line.vat,
      net: line.net,
    })),
    vatSummary: vatSummary(lines),
    totals: { gross: invoice.totalGross, vat: invoice.totalVat, net: invoice.totalNet },
    creditNotes,
    balance: { gross: invoice.totalGross - credited.gross, vat: invoice.totalVat - credited.vat, net: invoice.totalNet - credited.net },
  };
}

export async function invoiceDocumentOfOrder(db: Executor, config: Pick<Config, 'pii'>, orderId: string): Promise<InvoiceDocument | undefined> {
  const invoice = await invoiceOfOrder(db, orderId);
  return invoice ? invoiceDocument(db, config, invoice) : undefined;
}

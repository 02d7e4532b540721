/**
 * What invoicing holds about a person, for the GDPR registry (identity/gdpr.ts).
 *
 * Invoices and credit notes are legal records. The law requires an invoice to name the buyer and their
 * address (VAT Directive 2006/112/EC, art. 226) and the seller to keep it for years (art. 247; in France
 * 10 years, Code de commerce L123-22). Erasure therefore cannot apply to them while that obligation
 * runs (GDPR art. 17(3)(b)): the financial facts are kept for good, and the buyer block, encrypted at
 * rest, is kept until `retain_until` and removed by the eraser once that date has passed. Before then
 * an erasure removes nothing here and the database itself refuses it (migration 0015's trigger).
 */
import { creditNotesOfInvoice, eraseBuyersPastRetention, invoicesOfAccount } from '../db/invoices';
import type { Config } from '../platform/config';
import type { Database } from '../platform/postgres';
import { openBuyer } from './invoices';

export async function exportInvoices(db: Database, config: Config, accountId: string): Promise<Record<string, unknown>> {
  const invoices = await invoicesOfAccount(db, accountId);
  return {
    invoices: await Promise.all(
      invoices.map(async (invoice) => ({
        number: invoice.number,
        orderId: invoice.orderId,
        issuedAt: invoice.issuedAt,
        currency: invoice.currency,
        totalGross: invoice.totalGross,
        totalVat: invoice.totalVat,
        buyer: openBuyer(config, invoice),
        keptUntil: invoice.retainUntil,
        creditNotes: (await creditNotesOfInvoice(db, invoice.id)).map((note) => ({ number: note.number, issuedAt: note.issuedAt, totalGross: note.totalGross, reason: note.reason })),
      })),
    ),
  };
}

/** Idempotent: only buyer blocks past their retention date go, and a second run finds none left. */
export function eraseInvoices(db: Database, accountId: string): Promise<number> {
  return eraseBuyersPastRetention(db, accountId);
}

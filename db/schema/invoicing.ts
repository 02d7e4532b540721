import { sql } from 'drizzle-orm';
import { bigint, char, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

export const invoicing = pgSchema('invoicing');

export const documentKinds = ['invoice', 'credit_note'] as const;
export type DocumentKind = (typeof documentKinds)[number];

/**
 * The last number given in each series and year (`INV` 2026 → 123). A document takes the next number by
 * updating this row in the transaction that inserts it: the row lock makes concurrent issuers queue, and
 * a transaction that rolls back gives its number back, so numbers have no gaps (a SEQUENCE would leave
 * one per rollback). Triggers in the migration allow only +1 steps and check at commit that the
 * document holding the new number exists.
 */
export const documentCounters = invoicing.table(
  'document_counters',
  {
    series: text('series').notNull(),
    year: integer('year').notNull(),
    kind: text('kind').$type<DocumentKind>().notNull(),
    lastNumber: integer('last_number').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.series, t.year] }),
    check('document_counters_kind', sql`${t.kind} IN ('invoice', 'credit_note')`),
    check('document_counters_last_number', sql`${t.lastNumber} > 0`),
  ],
);

/** Who issues the documents, as printed on them when issued (a later change of address does not rewrite them). */
export interface SellerDetails {
  name: string;
  addressLines: string[];
  vatId: string;
  country: string;
  companyId?: string;
}

const money = (name: string) => bigint(name, { mode: 'number' }).notNull();

/**
 * An invoice, issued once per order when its payment is captured. Immutable (the migration's trigger
 * refuses UPDATE and DELETE), with one exception: the sealed buyer block may be re-encrypted under a new
 * key, and removed once the legal retention period (`retain_until`) is over.
 */
export const invoices = invoicing.table(
  'invoices',
  {
    id: uuid('id').primaryKey(),
    /** `INV-2026-000123`: series, UTC year of issue, number in that year. */
    number: text('number').notNull().unique(),
    series: text('series').notNull(),
    year: integer('year').notNull(),
    sequence: integer('sequence').notNull(),
    orderId: uuid('order_id').notNull().unique(),
    accountId: uuid('account_id').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    /** The country whose VAT applies (the shipping destination). */
    destinationCountry: char('destination_country', { length: 2 }).notNull(),
    issuedAt: timestamp('issued_at', { withTimezone: true, mode: 'date' }).notNull(),
    seller: jsonb('seller').$type<SellerDetails>().notNull(),
    /** The buyer's name and address as invoiced, encrypted (identity/pii-fields.ts `invoiceBuyer`); null once erased after retention, or when the order had none. */
    buyerEnc: text('buyer_enc'),
    totalGross: money('total_gross'),
    totalVat: money('total_vat'),
    totalNet: money('total_net'),
    /** Until when the law requires the invoice, buyer included, to be kept. */
    retainUntil: timestamp('retain_until', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    unique('invoices_series_year_sequence').on(t.series, t.year, t.sequence),
    index('invoices_account_idx').on(t.accountId, t.issuedAt),
    check('invoices_totals', sql`${t.totalGross} = ${t.totalNet} + ${t.totalVat} AND ${t.totalVat} >= 0 AND ${t.totalNet} >= 0`),
    check('invoices_sequence', sql`${t.sequence} > 0`),
    check('invoices_year', sql`${t.year} = extract(year FROM ${t.issuedAt} AT TIME ZONE 'UTC')`),
    check(
      'invoices_number',
      sql`${t.number} = ${t.series} || '-' || ${t.year}::text || '-' || CASE WHEN ${t.sequence} < 1000000 THEN lpad(${t.sequence}::text, 6, '0') ELSE ${t.sequence}::text END`,
    ),
  ],
);

export const invoiceLineKinds = ['goods', 'shipping'] as const;

/** A line as invoiced: amounts VAT-inclusive (gross), the VAT in them and the net, in minor units; gross = net + VAT. */
export const invoiceLines = invoicing.table(
  'invoice_lines',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    position: integer('position').notNull(),
    kind: text('kind').$type<(typeof invoiceLineKinds)[number]>().notNull(),
    sku: text('sku'),
    description: text('description').notNull(),
    quantity: integer('quantity').notNull(),
    /** Unit price, VAT included, before any discount. */
    unitGross: money('unit_gross'),
    discount: money('discount').default(0),
    taxCategory: text('tax_category').notNull(),
    vatRateBp: integer('vat_rate_bp').notNull(),
    gross: money('gross'),
    vat: money('vat'),
    net: money('net'),
  },
  (t) => [
    primaryKey({ columns: [t.invoiceId, t.position] }),
    check('invoice_lines_kind', sql`${t.kind} IN ('goods', 'shipping')`),
    check('invoice_lines_amounts', sql`${t.gross} = ${t.net} + ${t.vat} AND ${t.vat} >= 0 AND ${t.net} >= 0 AND ${t.discount} >= 0 AND ${t.quantity} > 0`),
    check('invoice_lines_rate', sql`${t.vatRateBp} BETWEEN 0 AND 10000`),
  ],
);

/**
 * A credit note: money given back on an invoice (a refund), once per refund id of the order. Immutable
 * like the invoice; its lines say what was credited, item by item or per VAT rate.
 */
export const creditNotes = invoicing.table(
  'credit_notes',
  {
    id: uuid('id').primaryKey(),
    number: text('number').notNull().unique(),
    series: text('series').notNull(),
    year: integer('year').notNull(),
    sequence: integer('sequence').notNull(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    orderId: uuid('order_id').notNull(),
    refundId: text('refund_id').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    issuedAt: timestamp('issued_at', { withTimezone: true, mode: 'date' }).notNull(),
    reason: text('reason').notNull(),
    totalGross: money('total_gross'),
    totalVat: money('total_vat'),
    totalNet: money('total_net'),
  },
  (t) => [
    unique('credit_notes_series_year_sequence').on(t.series, t.year, t.sequence),
    unique('credit_notes_order_refund').on(t.orderId, t.refundId),
    index('credit_notes_invoice_idx').on(t.invoiceId, t.issuedAt),
    check('credit_notes_totals', sql`${t.totalGross} = ${t.totalNet} + ${t.totalVat} AND ${t.totalGross} > 0 AND ${t.totalVat} >= 0 AND ${t.totalNet} >= 0`),
    check('credit_notes_sequence', sql`${t.sequence} > 0`),
    check('credit_notes_year', sql`${t.year} = extract(year FROM ${t.issuedAt} AT TIME ZONE 'UTC')`),
    check(
      'credit_notes_number',
      sql`${t.number} = ${t.series} || '-' || ${t.year}::text || '-' || CASE WHEN ${t.sequence} < 1000000 THEN lpad(${t.sequence}::text, 6, '0') ELSE ${t.sequence}::text END`,
    ),
  ],
);

export const creditNoteLineKinds = ['goods', 'adjustment'] as const;

/** `goods`: units of an invoice line given back; `adjustment`: an amount at one VAT rate not tied to an item (goodwill, shipping). */
export const creditNoteLines = invoicing.table(
  'credit_note_lines',
  {
    creditNoteId: uuid('credit_note_id')
      .notNull()
      .references(() => creditNotes.id),
    position: integer('position').notNull(),
    kind: text('kind').$type<(typeof creditNoteLineKinds)[number]>().notNull(),
    invoiceLinePosition: integer('invoice_line_position'),
    sku: text('sku'),
    description: text('description').notNull(),
    quantity: integer('quantity'),
    vatRateBp: integer('vat_rate_bp').notNull(),
    gross: money('gross'),
    vat: money('vat'),
    net: money('net'),
  },
  (t) => [
    primaryKey({ columns: [t.creditNoteId, t.position] }),
    check('credit_note_lines_kind', sql`${t.kind} IN ('goods', 'adjustment')`),
    check('credit_note_lines_amounts', sql`${t.gross} = ${t.net} + ${t.vat} AND ${t.vat} >= 0 AND ${t.net} >= 0`),
    check('credit_note_lines_goods', sql`${t.kind} <> 'goods' OR (${t.invoiceLinePosition} IS NOT NULL AND ${t.quantity} > 0)`),
  ],
);

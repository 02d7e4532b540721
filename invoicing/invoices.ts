/**
 * Issuing invoices and credit notes. An invoice is issued once per order when its payment is captured
 * (the capture activity calls `issueInvoiceForOrder`), a credit note once per refund when the refund
 * succeeded (the refund activity calls `issueCreditNoteForRefund`). Both are idempotent: a retried
 * activity finds the document issued and issues nothing, and the database backs that with unique
 * constraints (one invoice per order, one credit note per order and refund id).
 *
 * Everything that can be computed before the number is drawn is computed first: the counter's row lock
 * serialises every issuer of a series, so the transaction that holds it stays a few inserts long.
 */
import { randomUUID } from 'node:crypto';
import { variantsForSale } from '../db/catalog';
import {
  creditNoteOfRefund,
  creditNotesOfInvoice,
  drawNumber,
  insertCreditNote,
  insertInvoice,
  invoiceLinesOf,
  invoiceOfOrder,
  lockInvoiceOfOrder,
  YearTurnedWhileWaiting,
  type CreditNoteRow,
  type InvoiceLineRow,
  type InvoiceRow,
} from '../db/invoices';
import { orderById, orderLinesOf } from '../db/orders';
import type { SellerDetails } from '../db/schema/invoicing';
import { piiFields } from '../identity/pii-fields';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Database, Executor } from '../platform/postgres';
import { draftCreditNoteLines, type CreditedLine, type InvoicedLine, type RefundLine } from './credit-note-lines';
import { draftInvoiceLines, totalsOf } from './invoice-lines';

/** The buyer block of an invoice: who was invoiced, where. No phone, no email: an invoice does not need them. */
export interface InvoiceBuyer {
  name: string;
  line1: string;
  line2?: string;
  postalCode: string;
  city: string;
  region?: string;
  country: string;
}

export function sellerFrom(config: Pick<Config, 'SELLER_NAME' | 'SELLER_ADDRESS' | 'SELLER_VAT_ID' | 'SELLER_COUNTRY' | 'SELLER_COMPANY_ID'>): SellerDetails {
  return {
    name: config.SELLER_NAME,
    addressLines: config.SELLER_ADDRESS.split('|').map((line) => line.trim()).filter(Boolean),
    vatId: config.SELLER_VAT_ID,
    country: config.SELLER_COUNTRY,
    ...(config.SELLER_COMPANY_ID ? { companyId: config.SELLER_COMPANY_ID } : {}),
  };
}

/** The order's shipping address, reduced to what an invoice prints; undefined when the order holds none (erased, or never given). */
function buyerOf(config: Config, orderId: string, sealed: string | null): InvoiceBuyer | undefined {
  if (!sealed) return undefined;
  const address = JSON.parse(decryptPii(config.pii.keyring, sealed, piiFields.orderShippingAddress.context(orderId))) as Partial<InvoiceBuyer> | null;
  if (!address || typeof address.name !== 'string') return undefined;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
  return {
    name: address.name,
    line1: address.line1 ?? '',
    ...(text(address.line2) ? { line2: address.line2! } : {}),
    postalCode: address.postalCode ?? '',
    city: address.city ?? '',
    ...(text(address.region) ? { region: address.region! } : {}),
    country: address.country ?? '',
  };
}

export function openBuyer(config: Pick<Config, 'pii'>, invoice: Pick<InvoiceRow, 'id' | 'buyerEnc'>): InvoiceBuyer | null {
  if (!invoice.buyerEnc) return null;
  return JSON.parse(decryptPii(config.pii.keyring, invoice.buyerEnc, piiFields.invoiceBuyer.context(invoice.id))) as InvoiceBuyer;
}

/** Thrown inside the issuing transaction when another issuer got there first: rolling back returns the number drawn. */
class AlreadyIssued extends Error {}

/** Runs `issue` in a transaction, again if the year turned while it waited for the counter. */
async function withNumber<T>(db: Database, issue: (tx: Executor) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(issue);
    } catch (error) {
      if (!(error instanceof YearTurnedWhileWaiting) || attempt >= 3) throw error;
    }
  }
}

export type IssuedInvoice = { status: 'issued' | 'already_issued'; invoice: InvoiceRow } | { status: 'no_order' };

/**
 * The order's invoice, issued now if it has none: lines and VAT from the order's lines (VAT rate of the
 * destination for each product's tax category), shipping, seller from the configuration, buyer from the
 * order's shipping address (sealed again under the invoice's own key context), numbered in the
 * invoice series of the current UTC year. `no_order` when no such order exists (nothing to invoice).
 */
export async function issueInvoiceForOrder(db: Database, config: Config, orderId: string): Promise<IssuedInvoice> {
  const existing = await invoiceOfOrder(db, orderId);
  if (existing) return { status: 'already_issued', invoice: existing };
  const order = await orderById(db, orderId);
  if (!order) return { status: 'no_order' };
  const orderLines = await orderLinesOf(db, orderId);
  const catalog = await variantsForSale(db, orderLines.map((line) => line.sku), order.currency);
  const lines = draftInvoiceLines({
    destinationCountry: order.shippingCountry,
    shippingMethod: order.shippingMethod,
    shippingAmount: order.shippingAmount,
    discountAmount: order.discountAmount,
    totalAmount: order.totalAmount,
    lines: orderLines.map((line) => ({ ...line, taxCategory: catalog.get(line.sku)?.taxCategory ?? 'standard' })),
  });
  const totals = totalsOf(lines);
  const id = randomUUID();
  const buyer = buyerOf(config, order.id, order.shippingAddressEnc);
  const buyerEnc = buyer ? encryptPii(config.pii.keyring, JSON.stringify(buyer), piiFields.invoiceBuyer.context(id)) : null;

  try {
    const invoice = await withNumber(db, async (tx) => {
      const drawn = await drawNumber(tx, config.INVOICE_NUMBER_PREFIX, 'invoice');
      const retainUntil = new Date(drawn.issuedAt);
      retainUntil.setUTCFullYear(retainUntil.getUTCFullYear() + config.INVOICE_RETENTION_YEARS);
      const row: InvoiceRow = {
        id,
        number: drawn.number,
        series: config.INVOICE_NUMBER_PREFIX,
        year: drawn.year,
        sequence: drawn.sequence,
        orderId: order.id,
        accountId: order.accountId,
        currency: order.currency,
        destinationCountry: order.shippingCountry,
        issuedAt: drawn.issuedAt,
        seller: sellerFrom(config),
        buyerEnc,
        totalGross: totals.gross,
        totalVat: totals.vat,
        totalNet: totals.net,
        retainUntil,
      };
      if (!(await insertInvoice(tx, row, lines))) throw new AlreadyIssued();
      return row;
    });
    return { status: 'issued', invoice };
  } catch (error) {
    if (!(error instanceof AlreadyIssued)) throw error;
    return { status: 'already_issued', invoice: (await invoiceOfOrder(db, orderId))! };
  }
}

export interface CreditNoteRequest {
  orderId: string;
  /** The payment workflow's refund id: one credit note per refund. */
  refundId: string;
  /** What was refunded, minor units of the invoice's currency. */
  amount: number;
  /** Units given back; without them the amount is credited across the invoice's VAT rates. */
  lines?: RefundLine[];
  reason?: string;
}

export type IssuedCreditNote = { status: 'issued' | 'already_issued'; creditNote: CreditNoteRow } | { status: 'no_invoice' };

const invoicedLines = (lines: InvoiceLineRow[]): InvoicedLine[] =>
  lines.map((line) => ({ position: line.position, kind: line.kind, sku: line.sku, description: line.description, quantity: line.quantity, vatRateBp: line.vatRateBp, gross: line.gross, vat: line.vat }));

async function creditedSoFar(db: Executor, invoiceId: string): Promise<CreditedLine[]> {
  return (await creditNotesOfInvoice(db, invoiceId)).flatMap((note) =>
    note.lines.map((line) => ({ kind: line.kind, invoiceLinePosition: line.invoiceLinePosition, quantity: line.quantity, vatRateBp: line.vatRateBp, gross: line.gross, vat: line.vat })),
  );
}

/**
 * Refuses (CreditNoteRefused, naming the field) a refund whose credit note could not be drafted as
 * asked: SKUs not on the invoice, more units than are left, an amount above what is left. Called before
 * any money moves; a refund whose credit note exists already passes (its retry must not be refused).
 */
export async function checkRefundCreditable(db: Database, request: CreditNoteRequest): Promise<void> {
  if (await creditNoteOfRefund(db, request.orderId, request.refundId)) return;
  const invoice = await invoiceOfOrder(db, request.orderId);
  if (!invoice) return;
  draftCreditNoteLines(invoicedLines(await invoiceLinesOf(db, invoice.id)), await creditedSoFar(db, invoice.id), request, { strict: true });
}

/**
 * The credit note of a refund that succeeded, issued now if it was not yet. The money has moved
 * already, so the note is drafted leniently: it always credits exactly the refunded amount, and a line
 * that can no longer be credited as asked (a concurrent return took the units) is credited by rate
 * instead. `no_invoice` when the order has no invoice (nothing was invoiced, nothing to credit).
 */
export async function issueCreditNoteForRefund(db: Database, config: Config, request: CreditNoteRequest): Promise<IssuedCreditNote> {
  const existing = await creditNoteOfRefund(db, request.orderId, request.refundId);
  if (existing) return { status: 'already_issued', creditNote: existing };
  try {
    const outcome = await withNumber(db, async (tx): Promise<IssuedCreditNote> => {
      // Locked first: concurrent refunds of one invoice are drafted one after the other, each seeing the ones before.
      const invoice = await lockInvoiceOfOrder(tx, request.orderId);
      if (!invoice) return { status: 'no_invoice' };
      if (await creditNoteOfRefund(tx, request.orderId, request.refundId)) throw new AlreadyIssued();
      const lines = draftCreditNoteLines(invoicedLines(await invoiceLinesOf(tx, invoice.id)), await creditedSoFar(tx, invoice.id), request, { strict: false });
      const totals = totalsOf(lines);
      const drawn = await drawNumber(tx, config.CREDIT_NOTE_NUMBER_PREFIX, 'credit_note');
      const row: CreditNoteRow = {
        id: randomUUID(),
        number: drawn.number,
        series: config.CREDIT_NOTE_NUMBER_PREFIX,
        year: drawn.year,
        sequence: drawn.sequence,
        invoiceId: invoice.id,
        orderId: request.orderId,
        refundId: request.refundId,
        currency: invoice.currency,
        issuedAt: drawn.issuedAt,
        reason: (request.reason ?? '').trim().slice(0, 200) || (request.lines?.length ? 'Goods returned' : 'Refund'),
        totalGross: totals.gross,
        totalVat: totals.vat,
        totalNet: totals.net,
      };
      if (!(await insertCreditNote(tx, row, lines))) throw new AlreadyIssued();
      return { status: 'issued', creditNote: row };
    });
    return outcome;
  } catch (error) {
    if (!(error instanceof AlreadyIssued)) throw error;
    return { status: 'already_issued', creditNote: (await creditNoteOfRefund(db, request.orderId, request.refundId))! };
  }
}

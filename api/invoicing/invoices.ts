import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { orderById } from '../../db/orders';
import { invoiceDocumentOfOrder, type CreditNoteDocument, type DocumentLine, type InvoiceDocument } from '../../invoicing/document';
import { renderInvoiceHtml } from '../../invoicing/html';
import { access, requireOwnerOrStaff } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { SignedInProblemResponses } from '../schemas';

const amounts = {
  grossAmount: z.number().int().openapi({ description: 'VAT included, minor units' }),
  vatAmount: z.number().int(),
  netAmount: z.number().int(),
};
const Totals = z.object(amounts).openapi('DocumentTotals');
const VatRate = z.object({ vatRateBasisPoints: z.number().int().openapi({ description: '2000 = 20 %' }), ...amounts }).openapi('VatRateSummary');
const Line = z
  .object({
    position: z.number().int(),
    kind: z.enum(['goods', 'shipping', 'adjustment']),
    sku: z.string().nullable(),
    description: z.string(),
    quantity: z.number().int().nullable(),
    unitGrossAmount: z.number().int().nullable().openapi({ description: 'Unit price, VAT included, before discount' }),
    discountAmount: z.number().int(),
    vatRateBasisPoints: z.number().int(),
    ...amounts,
  })
  .openapi('DocumentLine');
const CreditNoteView = z
  .object({
    id: z.uuid(),
    number: z.string().openapi({ example: 'CN-2026-000001' }),
    issuedAt: z.iso.datetime(),
    refundId: z.string(),
    reason: z.string(),
    currency: z.string(),
    lines: z.array(Line),
    vatSummary: z.array(VatRate),
    totals: Totals,
  })
  .openapi('CreditNote');
const Address = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  postalCode: z.string(),
  city: z.string(),
  region: z.string().optional(),
  country: z.string(),
});
const InvoiceView = z
  .object({
    id: z.uuid(),
    number: z.string().openapi({ example: 'INV-2026-000123' }),
    orderId: z.uuid(),
    issuedAt: z.iso.datetime().openapi({ description: 'UTC' }),
    currency: z.string(),
    destinationCountry: z.string(),
    seller: z.object({ name: z.string(), addressLines: z.array(z.string()), vatId: z.string(), country: z.string(), companyId: z.string().optional() }),
    buyer: Address.nullable().openapi({ description: 'As invoiced; null once removed after the legal retention period' }),
    lines: z.array(Line),
    vatSummary: z.array(VatRate),
    totals: Totals,
    creditNotes: z.array(CreditNoteView),
    balance: Totals.openapi({ description: 'The invoice less its credit notes' }),
    links: z.object({ html: z.string() }),
  })
  .openapi('Invoice');

const params = z.object({ id: z.uuid() });
const formatQuery = z.object({ format: z.enum(['json', 'html']).optional().openapi({ description: '`html` for the printable page (also chosen by `Accept: text/html`)' }) }).strict();

const invoiceRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/invoice',
  tags: ['orders', 'invoicing'],
  summary: "The order's invoice, with its credit notes: JSON, or a printable HTML page (the owner, or staff with orders:read)",
  ...access('account:self'),
  request: { params, query: formatQuery },
  responses: {
    200: {
      description: 'The invoice',
      content: { 'application/json': { schema: InvoiceView }, 'text/html': { schema: z.string().openapi({ description: 'A printable invoice page' }) } },
    },
    ...SignedInProblemResponses,
  },
});

const creditNotesRoute = createRoute({
  method: 'get',
  path: '/v1/orders/{id}/credit-notes',
  tags: ['orders', 'invoicing'],
  summary: "The credit notes of the order's invoice, oldest first (one per refund)",
  ...access('account:self'),
  request: { params },
  responses: {
    200: { description: 'Credit notes; an empty list when nothing was refunded', content: { 'application/json': { schema: z.object({ creditNotes: z.array(CreditNoteView) }).openapi('CreditNotes') } } },
    ...SignedInProblemResponses,
  },
});

const lineView = (line: DocumentLine) => ({
  position: line.position,
  kind: line.kind as 'goods' | 'shipping' | 'adjustment',
  sku: line.sku,
  description: line.description,
  quantity: line.quantity,
  unitGrossAmount: line.unitGross,
  discountAmount: line.discount,
  vatRateBasisPoints: line.vatRateBp,
  grossAmount: line.gross,
  vatAmount: line.vat,
  netAmount: line.net,
});
const totalsView = (totals: { gross: number; vat: number; net: number }) => ({ grossAmount: totals.gross, vatAmount: totals.vat, netAmount: totals.net });
const summaryView = (summary: InvoiceDocument['vatSummary']) => summary.map((rate) => ({ vatRateBasisPoints: rate.vatRateBp, ...totalsView(rate) }));

const creditNoteView = (note: CreditNoteDocument, currency: string) => ({
  id: note.id,
  number: note.number,
  issuedAt: note.issuedAt.toISOString(),
  refundId: note.refundId,
  reason: note.reason,
  currency,
  lines: note.lines.map(lineView),
  vatSummary: summaryView(note.vatSummary),
  totals: totalsView(note.totals),
});

function invoiceView(invoice: InvoiceDocument, path: string): z.infer<typeof InvoiceView> {
  return {
    id: invoice.id,
    number: invoice.number,
    orderId: invoice.orderId,
    issuedAt: invoice.issuedAt.toISOString(),
    currency: invoice.currency,
    destinationCountry: invoice.destinationCountry,
    seller: invoice.seller,
    buyer: invoice.buyer,
    lines: invoice.lines.map(lineView),
    vatSummary: summaryView(invoice.vatSummary),
    totals: totalsView(invoice.totals),
    creditNotes: invoice.creditNotes.map((note) => creditNoteView(note, invoice.currency)),
    balance: totalsView(invoice.balance),
    links: { html: `${path}?format=html` },
  };
}

/** The order's invoice if the caller may see the order; 404 for an order they may not see (ids cannot be probed) and while none is issued. */
async function visibleInvoice(c: Context<AppEnv>, orderId: string): Promise<InvoiceDocument> {
  const { db, config } = c.get('deps');
  const order = await orderById(db, orderId);
  requireOwnerOrStaff(c, order?.accountId, 'orders:read', 'order');
  const invoice = await invoiceDocumentOfOrder(db, config, orderId);
  if (!invoice) {
    throw new HttpProblem({ ...problems.notFound('No invoice has been issued for this order yet: it is issued when the payment is captured'), slug: 'invoice-not-issued' });
  }
  return invoice;
}

/** `?format=` decides; without it, a browser (`Accept: text/html` before JSON) gets the page. */
function wantsHtml(c: Context<AppEnv>, format: 'json' | 'html' | undefined): boolean {
  if (format) return format === 'html';
  const accept = (c.req.header('accept') ?? '').toLowerCase();
  const html = accept.indexOf('text/html');
  const json = accept.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

export function invoiceRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(invoiceRoute, async (c) => {
    const { id } = c.req.valid('param');
    const invoice = await visibleInvoice(c, id);
    // Personal data (the buyer): never stored by a shared cache.
    c.header('Cache-Control', 'no-store');
    c.header('Vary', 'Accept');
    if (wantsHtml(c, c.req.valid('query').format)) {
      c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      c.header('Content-Disposition', `inline; filename="${invoice.number}.html"`);
      return c.html(renderInvoiceHtml(invoice), 200) as never;
    }
    return c.json(invoiceView(invoice, c.req.path), 200);
  });

  app.openapi(creditNotesRoute, async (c) => {
    const invoice = await visibleInvoice(c, c.req.valid('param').id);
    c.header('Cache-Control', 'no-store');
    return c.json({ creditNotes: invoice.creditNotes.map((note) => creditNoteView(note, invoice.currency)) }, 200);
  });
}

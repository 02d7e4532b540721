/**
 * The printable invoice: one self-contained HTML page (no script, no external resource, print styles
 * inline), with its credit notes after it. Every value from the database or a person is escaped; dates
 * are UTC; amounts are shown in the currency's own units from the stored minor units.
 */
import { percentText } from './invoice-lines';
import type { CreditNoteDocument, DocumentLine, InvoiceDocument } from './document';
import type { Totals, VatSummaryLine } from './invoice-lines';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: string | number | null | undefined): string => String(value ?? '').replace(/[&<>"']/g, (c) => entities[c]!);

function moneyFormat(currency: string): (minorUnits: number) => string {
  const format = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return (minorUnits) => format.format(minorUnits / 10 ** digits);
}

const day = (date: Date) => date.toISOString().slice(0, 10);
const stamp = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Outside the EU VAT area, a zero-rated sale is an export, and the page says why no VAT is charged. */
const euVatArea = new Set(['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'MC']);

const styles = `
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; gap: 2rem; align-items: flex-start; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
  .parties { display: flex; gap: 3rem; margin: 1.5rem 0; }
  .parties section { flex: 1; }
  .label { color: #555; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; margin: 0 0 .25rem; }
  address { font-style: normal; }
  dl.meta { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; margin: 0; }
  dl.meta dt { color: #555; } dl.meta dd { margin: 0; }
  table { width: 100%; border-collapse: collapse; margin: .5rem 0 1rem; }
  th, td { padding: .35rem .5rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
  th { background: #f4f4f4; font-weight: 600; }
  td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
  tfoot td { font-weight: 600; border-bottom: none; }
  .credit-note { border-top: 2px solid #111; margin-top: 2.5rem; page-break-before: always; }
  .note { color: #555; font-size: .85rem; }
  @media print { body { margin: 0; max-width: none; } .credit-note { break-before: page; } }
`;

function linesTable(lines: DocumentLine[], money: (n: number) => string, credit: boolean): string {
  const rows = lines
    .map(
      (line) => `<tr>
        <td>${escapeHtml(line.description)}${line.sku ? `<br><span class="note">SKU ${escapeHtml(line.sku)}</span>` : ''}</td>
        <td class="num">${line.quantity ?? ''}</td>
        ${credit ? '' : `<td class="num">${line.unitGross === null ? '' : escapeHtml(money(line.unitGross))}</td><td class="num">${line.discount ? escapeHtml(money(-line.discount)) : ''}</td>`}
        <td class="num">${escapeHtml(percentText(line.vatRateBp))}</td>
        <td class="num">${escapeHtml(money(line.net))}</td>
        <td class="num">${escapeHtml(money(line.vat))}</td>
        <td class="num">${escapeHtml(money(line.gross))}</td>
      </tr>`,
    )
    .join('');
  return `<table>
      <thead><tr><th>Description</th><th class="num">Qty</th>${credit ? '' : '<th class="num">Unit price incl. VAT</th><th class="num">Discount</th>'}<th class="num">VAT rate</th><th class="num">Net</th><th class="num">VAT</th><th class="num">Total incl. VAT</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`;
}

function summaryTable(summary: VatSummaryLine[], totals: Totals, money: (n: number) => string, caption: string): string {
  const rows = summary
    .map((rate) => `<tr><td>${escapeHtml(percentText(rate.vatRateBp))}</td><td class="num">${escapeHtml(money(rate.net))}</td><td class="num">${escapeHtml(money(rate.vat))}</td><td class="num">${escapeHtml(money(rate.gross))}</td></tr>`)
    .join('');
  return `<table>
      <caption class="label">${escapeHtml(caption)}</caption>
      <thead><tr><th>VAT rate</th><th class="num">Net</th><th class="num">VAT</th><th class="num">Total incl. VAT</th></tr></thead>
      <tbody>${rows}</tbody>
      <tfoot><tr><td>Total</td><td class="num">${escapeHtml(money(totals.net))}</td><td class="num">${escapeHtml(money(totals.vat))}</td><td class="num">${escapeHtml(money(totals.gross))}</td></tr></tfoot>
    </table>`;
}

function creditNoteSection(note: CreditNoteDocument, invoice: InvoiceDocument, money: (n: number) => string): string {
  return `<section class="credit-note" id="${escapeHtml(note.number)}">
    <h2>Credit note ${escapeHtml(note.number)}</h2>
    <dl class="meta">
      <dt>Issued</dt><dd><time datetime="${escapeHtml(note.issuedAt.toISOString())}">${escapeHtml(stamp(note.issuedAt))}</time></dd>
      <dt>Credits invoice</dt><dd>${escapeHtml(invoice.number)} of ${escapeHtml(day(invoice.issuedAt))}</dd>
      <dt>Reason</dt><dd>${escapeHtml(note.reason)}</dd>
      <dt>Refund</dt><dd>${escapeHtml(note.refundId)}</dd>
    </dl>
    ${linesTable(note.lines, money, true)}
    ${summaryTable(note.vatSummary, note.totals, money, 'VAT credited by rate')}
  </section>`;
}

export function renderInvoiceHtml(invoice: InvoiceDocument): string {
  const money = moneyFormat(invoice.currency);
  const seller = invoice.seller;
  const buyer = invoice.buyer;
  const buyerBlock = buyer
    ? `<address>${[buyer.name, buyer.line1, buyer.line2, [buyer.postalCode, buyer.city].filter(Boolean).join(' '), buyer.region, buyer.country]
        .filter((part): part is string => Boolean(part))
        .map(escapeHtml)
        .join('<br>')}</address>`
    : '<p class="note">Buyer details removed after the legal retention period.</p>';
  const exported = !euVatArea.has(invoice.destinationCountry) && invoice.totals.vat === 0;
  const notes = [
    'Prices include VAT. Amounts per line: net + VAT = total incl. VAT.',
    exported ? 'No VAT charged: export of goods outside the EU (Directive 2006/112/EC, art. 146).' : `VAT of the country of destination (${invoice.destinationCountry}).`,
  ];
  const credited = invoice.creditNotes.length > 0;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice ${escapeHtml(invoice.number)}</title>
<style>${styles}</style>
</head>
<body>
<main>
  <header>
    <div>
      <h1>Invoice ${escapeHtml(invoice.number)}</h1>
      <dl class="meta">
        <dt>Issued</dt><dd><time datetime="${escapeHtml(invoice.issuedAt.toISOString())}">${escapeHtml(stamp(invoice.issuedAt))}</time></dd>
        <dt>Order</dt><dd>${escapeHtml(invoice.orderId)}</dd>
        <dt>Currency</dt><dd>${escapeHtml(invoice.currency)}</dd>
      </dl>
    </div>
  </header>
  <div class="parties">
    <section>
      <p class="label">Seller</p>
      <address>${[seller.name, ...seller.addressLines].map(escapeHtml).join('<br>')}</address>
      <p>VAT number: ${escapeHtml(seller.vatId)}${seller.companyId ? `<br>Registration: ${escapeHtml(seller.companyId)}` : ''}</p>
    </section>
    <section>
      <p class="label">Buyer</p>
      ${buyerBlock}
    </section>
  </div>
  <h2>Lines</h2>
  ${linesTable(invoice.lines, money, false)}
  ${summaryTable(invoice.vatSummary, invoice.totals, money, 'VAT by rate')}
  <p><strong>Total due incl. VAT: ${escapeHtml(money(invoice.totals.gross))}</strong> (paid)</p>
  ${
    credited
      ? `<h2>Credit notes</h2>
  <ul>${invoice.creditNotes.map((note) => `<li><a href="#${escapeHtml(note.number)}">${escapeHtml(note.number)}</a>, ${escapeHtml(day(note.issuedAt))}: ${escapeHtml(money(note.totals.gross))}</li>`).join('')}</ul>
  <p>Balance after credit notes: ${escapeHtml(money(invoice.balance.gross))} incl. VAT ${escapeHtml(money(invoice.balance.vat))}</p>`
      : ''
  }
  ${notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('\n  ')}
  ${invoice.creditNotes.map((note) => creditNoteSection(note, invoice, money)).join('\n')}
</main>
</body>
</html>
`;
}

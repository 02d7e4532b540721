/**
 * Invoicing end to end: checkout over HTTP with real workers and the real sandbox provider, the capture
 * issues the invoice, `GET /v1/orders/:id/invoice` shows it as JSON and as a printable page to its owner
 * and to staff only; refunds through the payment workflow (with lines, without) issue credit notes that
 * the invoice lists; bad input is a problem+json naming the field.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { upsertProduct } from '../../db/catalog';
import { setStockLevels } from '../../db/inventory';
import { paymentWorkflowId, refundPaymentUpdate, type RefundPaymentResult } from '../../workflows/payments/definitions';
import { recordHistory } from '../support/histories';
import { fields, json, problem } from '../support/http';
import { signedInAs, type SignedIn } from '../support/identity';
import { startSandboxProvider, testCards, type SandboxProvider } from '../support/sandbox-psp';
import { freePort, startApi, startWorker, testConfig, waitFor } from '../support/stack';

type Amounts = { grossAmount: number; vatAmount: number; netAmount: number };
type Line = Amounts & { kind: string; sku: string | null; description: string; quantity: number | null; vatRateBasisPoints: number };
type CreditNote = { number: string; refundId: string; reason: string; issuedAt: string; lines: Line[]; totals: Amounts; vatSummary: (Amounts & { vatRateBasisPoints: number })[] };
type Invoice = {
  number: string;
  orderId: string;
  issuedAt: string;
  currency: string;
  seller: { name: string; vatId: string; addressLines: string[] };
  buyer: { name: string; line1: string; city: string } | null;
  lines: Line[];
  vatSummary: (Amounts & { vatRateBasisPoints: number })[];
  totals: Amounts;
  creditNotes: CreditNote[];
  balance: Amounts;
  links: { html: string };
};
type Order = { id: string; status: string; totalAmount: number; taxAmount: number };

const run = randomUUID().slice(0, 8).toUpperCase();
const sku = (name: string) => `IA-${run}-${name}`;
const letters = () => Array.from(randomBytes(4), (b) => String.fromCharCode(65 + (b % 26))).join('');
// Names that must come out escaped in the page.
const address = { name: `Camille <Martin> & "Fils" ${run}`, line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };
const teapotTitle = `Théière <b>fonte</b> & co ${run}`;

/** Void elements aside, every tag the page opens it closes, in order: a well-formed document. */
function assertWellFormed(html: string) {
  const voids = new Set(['meta', 'br', 'link', 'img', 'hr', 'input']);
  const stack: string[] = [];
  for (const match of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g)) {
    const [, closing, raw] = match;
    const name = raw!.toLowerCase();
    if (voids.has(name)) continue;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes <${stack.at(-1) ?? 'nothing'}>`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
}

describe('invoices over HTTP', () => {
  let psp: SandboxProvider;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let config: ReturnType<typeof testConfig>;

  before(async () => {
    const apiPort = await freePort();
    const webhookSecret = randomBytes(32).toString('base64url');
    psp = await startSandboxProvider({ webhookUrl: `http://127.0.0.1:${apiPort}/v1/webhooks/payments`, webhookSecret, log: 'error' });
    config = testConfig('invoice-api', {
      API_PORT: String(apiPort),
      WORKER_METRICS_PORT: String(await freePort()),
      WEBHOOK_SIGNING_SECRET: webhookSecret,
      PAYMENT_PROVIDER_URL: psp.baseUrl,
      PAYMENT_PROVIDER_API_KEY: psp.apiKey,
      INVOICE_NUMBER_PREFIX: `E${letters()}`,
      CREDIT_NOTE_NUMBER_PREFIX: `F${letters()}`,
      SELLER_NAME: 'Comptoir Test SAS',
      SELLER_VAT_ID: 'FR12345678901',
    });
    api = await startApi(config);
    worker = await startWorker(config);
    await api.deps.db.transaction(async (tx) => {
      await upsertProduct(tx, {
        slug: `ia-teapot-${run.toLowerCase()}`,
        title: teapotTitle,
        description: '',
        status: 'published',
        attributes: {},
        categories: [],
        variants: [{ sku: sku('TEAPOT'), title: teapotTitle, options: {}, prices: [{ currency: 'EUR', amount: 2990 }] }],
      });
      await upsertProduct(tx, {
        slug: `ia-book-${run.toLowerCase()}`,
        title: 'Cookbook',
        description: '',
        status: 'published',
        attributes: {},
        taxCategory: 'reduced',
        categories: [],
        variants: [{ sku: sku('BOOK'), title: 'Cookbook', options: {}, prices: [{ currency: 'EUR', amount: 1850 }] }],
      });
    });
    await setStockLevels(api.deps.db, [
      { sku: sku('TEAPOT'), location: 'paris', onHand: 100 },
      { sku: sku('BOOK'), location: 'paris', onHand: 100 },
    ]);
  });

  after(async () => {
    await worker?.stop();
    await api?.stop();
    await psp?.stop();
  });

  const url = (path: string) => `${api.baseUrl}${path}`;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(url(path), { headers });
  const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  async function placeOrder(customer: SignedIn, card: string): Promise<{ orderId: string; totalAmount: number }> {
    const cart = await json<{ id: string }>(await send('POST', '/v1/carts', { currency: 'EUR' }, customer.headers), 201);
    await json(await send('PUT', `/v1/carts/${cart.id}/lines/${sku('TEAPOT')}`, { quantity: 1 }, customer.headers), 200);
    await json(await send('PUT', `/v1/carts/${cart.id}/lines/${sku('BOOK')}`, { quantity: 2 }, customer.headers), 200);
    const paymentToken = await psp.tokenise(card);
    return json(await send('POST', '/v1/checkout', { cartId: cart.id, shippingAddress: address, shippingMethod: 'express', paymentToken }, { ...customer.headers, 'idempotency-key': randomUUID() }), 201);
  }

  const invoiceOf = (customer: SignedIn, orderId: string) =>
    waitFor(async () => {
      const response = await get(`/v1/orders/${orderId}/invoice`, customer.headers);
      return response.status === 200 ? ((await response.json()) as Invoice) : undefined;
    }, { what: 'the invoice', timeoutMs: 90_000 });

  let customer: SignedIn;
  let orderId = '';

  test('checkout and capture → the invoice, as JSON: numbered, VAT per rate, totals of the order, seller and buyer', async () => {
    customer = await signedInAs(config, 'customer');
    // 3-D Secure: the order exists while the payment waits, and has no invoice yet.
    const placed = await placeOrder(customer, testCards.threeDSecure);
    orderId = placed.orderId;
    const early = await problem(await get(`/v1/orders/${orderId}/invoice`, customer.headers), 404);
    assert.equal(early.type, 'https://comptoir.dev/problems/invoice-not-issued');
    await problem(await get(`/v1/orders/${orderId}/credit-notes`, customer.headers), 404);
    const [payment] = await psp.paymentsOf(orderId);
    await psp.confirm(payment!.id, 'succeed');

    const invoice = await invoiceOf(customer, orderId);
    const order = await json<Order>(await get(`/v1/orders/${orderId}`, customer.headers), 200);
    assert.match(invoice.number, new RegExp(`^${config.INVOICE_NUMBER_PREFIX}-${new Date().getUTCFullYear()}-\\d{6}$`));
    assert.match(invoice.issuedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(invoice.orderId, orderId);
    assert.equal(invoice.totals.grossAmount, order.totalAmount);
    assert.equal(invoice.totals.grossAmount, 2990 + 2 * 1850 + 1290, 'express shipping is a line too');
    assert.equal(invoice.totals.vatAmount, order.taxAmount, 'the VAT the order was priced with');
    assert.equal(invoice.totals.grossAmount, invoice.totals.netAmount + invoice.totals.vatAmount);
    assert.deepEqual(invoice.vatSummary.map((r) => r.vatRateBasisPoints), [2000, 550]);
    assert.deepEqual(
      invoice.lines.map((l) => [l.kind, l.sku, l.quantity, l.vatRateBasisPoints, l.grossAmount]),
      [
        ['goods', sku('BOOK'), 2, 550, 3700],
        ['goods', sku('TEAPOT'), 1, 2000, 2990],
        ['shipping', null, 1, 2000, 577],
        ['shipping', null, 1, 550, 713],
      ],
      'shipping split 2990 : 3700 across the two rates (576.55 and 713.45: the spare cent to .55)',
    );
    for (const rate of invoice.vatSummary) {
      const atRate = invoice.lines.filter((l) => l.vatRateBasisPoints === rate.vatRateBasisPoints);
      assert.equal(rate.grossAmount, atRate.reduce((s, l) => s + l.grossAmount, 0));
      assert.equal(rate.vatAmount, atRate.reduce((s, l) => s + l.vatAmount, 0));
    }
    assert.deepEqual(invoice.seller, { name: 'Comptoir Test SAS', addressLines: ['1 rue du Comptoir', '75001 Paris', 'France'], vatId: 'FR12345678901', country: 'FR' });
    assert.deepEqual(invoice.buyer, { name: address.name, line1: address.line1, postalCode: address.postalCode, city: address.city, country: 'FR' });
    assert.deepEqual(invoice.creditNotes, []);
    assert.deepEqual(invoice.balance, invoice.totals);
  });

  test('the printable page: well-formed HTML, escaped, UTC dates, VAT summary and totals; also for Accept: text/html', async () => {
    const invoice = await invoiceOf(customer, orderId);
    const response = await get(invoice.links.html, customer.headers);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/i);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await response.text();
    assertWellFormed(html);
    assert.ok(html.includes(`<title>Invoice ${invoice.number}</title>`));
    assert.ok(html.includes('Camille &lt;Martin&gt; &amp; &quot;Fils&quot;'), 'the buyer, escaped');
    assert.ok(html.includes('Théière &lt;b&gt;fonte&lt;/b&gt; &amp; co'), 'the product title, escaped');
    assert.ok(!html.includes('<b>fonte') && !html.includes('<Martin>'), 'nothing from the data is markup');
    assert.ok(html.includes(`${invoice.issuedAt.slice(0, 10)} ${invoice.issuedAt.slice(11, 16)} UTC`));
    assert.ok(html.includes('VAT by rate') && html.includes('20 %') && html.includes('5.5 %'));
    assert.ok(html.includes('€79.80'), 'the total in euros');
    assert.ok(html.includes('FR12345678901'));
    const negotiated = await get(`/v1/orders/${orderId}/invoice`, { ...customer.headers, accept: 'text/html,application/xhtml+xml;q=0.9' });
    assert.match(negotiated.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(await negotiated.text(), html);
    const asJson = await get(`/v1/orders/${orderId}/invoice?format=json`, { ...customer.headers, accept: 'text/html' });
    assert.match(asJson.headers.get('content-type') ?? '', /^application\/json/);
  });

  test('only the owner and staff with orders:read see it; bad input is a problem naming the field', async () => {
    const support = await signedInAs(config, 'support');
    assert.equal((await json<Invoice>(await get(`/v1/orders/${orderId}/invoice`, support.headers), 200)).orderId, orderId);
    const stranger = await signedInAs(config, 'customer');
    await problem(await get(`/v1/orders/${orderId}/invoice`, stranger.headers), 404);
    await problem(await get(`/v1/orders/${orderId}/invoice?format=html`, stranger.headers), 404);
    await problem(await get(`/v1/orders/${orderId}/credit-notes`, stranger.headers), 404);
    await problem(await get(`/v1/orders/${orderId}/invoice`), 401);
    await problem(await get(`/v1/orders/${randomUUID()}/invoice`, customer.headers), 404);
    assert.deepEqual(fields(await problem(await get(`/v1/orders/${orderId}/invoice?format=pdf`, customer.headers), 400)), ['format']);
    assert.deepEqual(fields(await problem(await get(`/v1/orders/${orderId}/invoice?lang=fr`, customer.headers), 400)), ['lang']);
    const notUuid = await problem(await get('/v1/orders/not-a-uuid/invoice', customer.headers), 400);
    assert.deepEqual(notUuid.errors?.map((e) => [e.in, e.field]), [['path', 'id']]);
  });

  test('refunds through the payment workflow: with lines and without, each a credit note the invoice lists; bad lines move no money', async () => {
    const { temporal } = api.deps;
    const workflowId = paymentWorkflowId(config.TASK_QUEUE_PREFIX, orderId);
    const handle = temporal.client.workflow.getHandle(workflowId);
    const refund = (request: { refundId: string; amount: number; reason: string; lines?: { sku: string; quantity: number }[] }) =>
      handle.executeUpdate(refundPaymentUpdate, { args: [request] }) as Promise<RefundPaymentResult>;

    const returned = await refund({ refundId: 'return-1', amount: 1850, reason: 'one book back', lines: [{ sku: sku('BOOK'), quantity: 1 }] });
    assert.equal(returned.status, 'succeeded');
    const goodwill = await refund({ refundId: 'goodwill-1', amount: 500, reason: 'late delivery' });
    assert.equal(goodwill.status, 'succeeded');
    // Not on the invoice: refused before any money moves, and said why.
    const refused = await refund({ refundId: 'return-2', amount: 100, reason: 'not ours', lines: [{ sku: 'SOMETHING-ELSE', quantity: 1 }] });
    assert.deepEqual(refused, { refundId: 'return-2', amount: 100, status: 'failed', failure: 'RefundNotCreditable' });
    // Malformed lines never reach the workflow's state.
    await assert.rejects(refund({ refundId: 'return-3', amount: 100, reason: 'x', lines: [{ sku: sku('BOOK'), quantity: 0 }] }), WorkflowUpdateFailedError);
    await assert.rejects(refund({ refundId: 'return-4', amount: 100, reason: 'x', lines: [{ sku: sku('BOOK'), quantity: 1 }, { sku: sku('BOOK'), quantity: 1 }] }), WorkflowUpdateFailedError);

    const [payment] = await psp.paymentsOf(orderId);
    assert.equal(payment!.refundedAmount, 1850 + 500);
    const invoice = await json<Invoice>(await get(`/v1/orders/${orderId}/invoice`, customer.headers), 200);
    assert.deepEqual(invoice.creditNotes.map((n) => [n.refundId, n.totals.grossAmount, n.reason]), [['return-1', 1850, 'one book back'], ['goodwill-1', 500, 'late delivery']]);
    assert.match(invoice.creditNotes[0]!.number, new RegExp(`^${config.CREDIT_NOTE_NUMBER_PREFIX}-\\d{4}-\\d{6}$`));
    assert.deepEqual(invoice.creditNotes[0]!.lines.map((l) => [l.kind, l.sku, l.quantity, l.vatRateBasisPoints, l.grossAmount]), [['goods', sku('BOOK'), 1, 550, 1850]]);
    assert.deepEqual(invoice.creditNotes[1]!.lines.map((l) => l.vatRateBasisPoints), [2000, 550], 'goodwill across both rates');
    for (const note of invoice.creditNotes) assert.equal(note.totals.grossAmount, note.totals.netAmount + note.totals.vatAmount);
    assert.equal(invoice.balance.grossAmount, invoice.totals.grossAmount - 1850 - 500);
    assert.equal(invoice.balance.vatAmount, invoice.totals.vatAmount - invoice.creditNotes.reduce((s, n) => s + n.totals.vatAmount, 0));
    const listed = await json<{ creditNotes: CreditNote[] }>(await get(`/v1/orders/${orderId}/credit-notes`, customer.headers), 200);
    assert.deepEqual(listed.creditNotes, invoice.creditNotes);
    const page = await (await get(`/v1/orders/${orderId}/invoice?format=html`, customer.headers)).text();
    assertWellFormed(page);
    for (const note of invoice.creditNotes) assert.ok(page.includes(`Credit note ${note.number}`));

    // A repeated refund request answers its first result and issues nothing more.
    assert.equal((await refund({ refundId: 'return-1', amount: 1850, reason: 'one book back', lines: [{ sku: sku('BOOK'), quantity: 1 }] })).status, 'succeeded');
    assert.equal((await json<Invoice>(await get(`/v1/orders/${orderId}/invoice`, customer.headers), 200)).creditNotes.length, 2);
    await recordHistory(temporal.client, workflowId, 'payment-refund-lines');
  });
});

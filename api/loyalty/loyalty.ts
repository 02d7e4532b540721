import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { loyaltyHistory, loyaltyOverview, type LoyaltyLedgerRow } from '../../db/loyalty';
import { ledgerKinds } from '../../loyalty/account';
import { isLoyaltyCurrency, pointsPerCurrencyUnit, tierNames, tiers, valueOfPoints } from '../../loyalty/rules';
import { access, accountOf } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses, Money, pageQuery, SignedInProblemResponses } from '../schemas';
import { redemptionProblem } from './problems';

// A person's points and purchases: never cached by a browser or a proxy.
const privateHeaders = { 'Cache-Control': 'no-store' };

const Tier = z.object({ name: z.enum(tierNames), multiplier: z.number().openapi({ example: 1.25, description: 'Points per whole currency unit paid' }) });

const LedgerLine = z
  .object({
    seq: z.number().int(),
    kind: z.enum(ledgerKinds),
    points: z.number().int().openapi({ description: 'Change to the balance' }),
    reservedChange: z.number().int().openapi({ description: 'Change to the points held for a checkout' }),
    debtChange: z.number().int(),
    orderId: z.uuid().nullable(),
    refundId: z.string().nullable(),
    expiresAt: z.iso.datetime().nullable().openapi({ description: 'earn: when these points expire' }),
    tier: z.enum(tierNames).nullable().openapi({ description: 'tier: the tier reached' }),
    at: z.iso.datetime(),
  })
  .openapi('LoyaltyLedgerLine');

const LoyaltyAccountView = z
  .object({
    balance: z.number().int().openapi({ description: 'Points held: the sum of the ledger' }),
    reserved: z.number().int().openapi({ description: 'Points held for checkouts not yet paid' }),
    available: z.number().int(),
    debt: z.number().int().openapi({ description: 'Points owed for refunded orders whose points were already spent; repaid from the next points earned' }),
    tier: Tier,
    rollingSpend: Money.openapi({ description: 'Spend of the last 12 months, in EUR' }),
    nextTier: z.object({ tier: Tier, threshold: Money, missing: Money }).nullable(),
    expiringSoon: z.object({
      points: z.number().int(),
      before: z.iso.datetime(),
      lots: z.array(z.object({ points: z.number().int(), expiresAt: z.iso.datetime() })),
    }),
    pointValue: z.object({ points: z.number().int(), unit: z.string() }).openapi({ description: `${pointsPerCurrencyUnit} points are worth one whole unit of the order's currency` }),
    history: z.array(LedgerLine).openapi({ description: 'The ledger, newest first, one page' }),
    nextCursor: z.string().nullable(),
  })
  .openapi('LoyaltyAccount');

const RedemptionPreviewRequest = z
  .object({
    points: z.number().int().positive().max(100_000_000),
    currency: z.string().refine(isLoyaltyCurrency, 'must be a currency the shop sells in (EUR, USD, GBP)').openapi({ example: 'EUR' }),
  })
  .strict()
  .openapi('LoyaltyRedemptionPreviewRequest');

const RedemptionPreview = z
  .object({ points: z.number().int(), value: Money, available: z.number().int(), availableAfter: z.number().int() })
  .openapi('LoyaltyRedemptionPreview');

const meRoute = createRoute({
  method: 'get',
  path: '/v1/me/loyalty',
  tags: ['loyalty'],
  summary: 'My points: balance, tier and what is missing for the next one, points expiring within 30 days, and the ledger (cursor pages)',
  ...access('account:self'),
  request: { query: pageQuery },
  responses: { 200: { description: 'The loyalty account', content: { 'application/json': { schema: LoyaltyAccountView } } }, ...SignedInProblemResponses },
});

const previewRoute = createRoute({
  method: 'post',
  path: '/v1/me/loyalty/redemptions/preview',
  tags: ['loyalty'],
  summary: 'What points would take off an order, if I hold them; reserves nothing (checkout does)',
  ...access('account:self'),
  request: { body: { required: true, content: { 'application/json': { schema: RedemptionPreviewRequest } } } },
  responses: {
    200: { description: 'The points are available', content: { 'application/json': { schema: RedemptionPreview } } },
    ...SignedInProblemResponses,
    422: { description: 'Invalid body, or more points than available (`errors` names `points`)', content: SignedInProblemResponses[422].content },
  },
});

const staffRoute = createRoute({
  method: 'get',
  path: '/v1/admin/loyalty/accounts/{accountId}',
  tags: ['admin', 'loyalty'],
  summary: "A customer's loyalty account, as they see it (support)",
  ...access('orders:read'),
  request: { params: z.object({ accountId: z.uuid() }), query: pageQuery },
  responses: { 200: { description: 'The loyalty account', content: { 'application/json': { schema: LoyaltyAccountView } } }, ...AdminProblemResponses },
});

const iso = (date: Date) => date.toISOString();
const eur = (amount: number) => ({ amount, currency: 'EUR' });
const tierView = (tier: (typeof tiers)[number]) => ({ name: tier.name, multiplier: tier.multiplierPct / 100 });

function line(row: LoyaltyLedgerRow): z.infer<typeof LedgerLine> {
  return {
    seq: row.seq,
    kind: row.kind,
    points: row.points,
    reservedChange: row.reservedDelta,
    debtChange: row.debtDelta,
    orderId: row.orderId,
    refundId: row.refundId,
    expiresAt: row.expiresAt ? iso(row.expiresAt) : null,
    tier: row.kind === 'tier' ? (row.detail?.tier ?? null) : null,
    at: iso(row.occurredAt),
  };
}

const encodeCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const match = /^seq:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from this list' }], 400));
  return Number(match[1]);
}

async function accountView(c: Context<AppEnv>, accountId: string, page: { limit: number; cursor?: string }) {
  const { db } = c.get('deps');
  const beforeSeq = page.cursor ? decodeCursor(page.cursor) : undefined;
  const [overview, rows] = await Promise.all([
    loyaltyOverview(db, accountId, Date.now()),
    loyaltyHistory(db, accountId, { limit: page.limit + 1, ...(beforeSeq !== undefined ? { beforeSeq } : {}) }),
  ]);
  const history = rows.slice(0, page.limit);
  return {
    balance: overview.balance,
    reserved: overview.reserved,
    available: overview.available,
    debt: overview.debt,
    tier: tierView(overview.tier),
    rollingSpend: eur(overview.rollingSpendEur),
    nextTier: overview.nextTier ? { tier: tierView(overview.nextTier.tier), threshold: eur(overview.nextTier.tier.minSpendEur), missing: eur(overview.nextTier.missingEur) } : null,
    expiringSoon: {
      points: overview.expiringSoon.points,
      before: iso(new Date(overview.expiringSoon.untilMs)),
      lots: overview.expiringSoon.lots.map((lot) => ({ points: lot.remaining, expiresAt: iso(lot.expiresAt) })),
    },
    pointValue: { points: pointsPerCurrencyUnit, unit: "one whole unit of the order's currency" },
    history: history.map(line),
    nextCursor: rows.length > page.limit ? encodeCursor(history.at(-1)!.seq) : null,
  };
}

export function loyaltyRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(meRoute, async (c) => c.json(await accountView(c, accountOf(c).accountId, c.req.valid('query')), 200, privateHeaders));

  app.openapi(previewRoute, async (c) => {
    const { points, currency } = c.req.valid('json');
    const overview = await loyaltyOverview(c.get('deps').db, accountOf(c).accountId, Date.now());
    if (points > overview.available) {
      throw new HttpProblem(
        redemptionProblem({ reason: 'insufficient_points', field: 'points', message: `${points} points requested, ${overview.available} available`, requested: points, available: overview.available }),
      );
    }
    return c.json({ points, value: { amount: valueOfPoints(points, currency), currency }, available: overview.available, availableAfter: overview.available - points }, 200, privateHeaders);
  });

  app.openapi(staffRoute, async (c) => c.json(await accountView(c, c.req.valid('param').accountId, c.req.valid('query')), 200, privateHeaders));
}

/**
 * GET /v1/admin/audit-log: newest first, filters, and a cursor that neither skips nor repeats an event,
 * also when several events share one timestamp or differ by microseconds only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { upsertPartnerClient } from '../../db/identity/partners';
import { hashPassword } from '../../platform/passwords';
import { adminHeaders, signedInAs } from '../support/identity';
import { startApi, testConfig } from '../support/stack';
import { type Problem } from '../support/http';

const config = testConfig('audit-log');
let api: Awaited<ReturnType<typeof startApi>>;
before(async () => {
  api = await startApi(config);
});
after(() => api?.stop());

type AuditEvent = {
  id: number;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
};
type Page = { items: AuditEvent[]; nextCursor: string | null };

const url = (path: string) => `${api.baseUrl}${path}`;

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

const fields = async (response: Response, status: number) => {
  const body = await json<Problem>(response, status);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  return body.errors?.map((e) => e.field);
};

async function read(query: Record<string, string | number>, headers?: Record<string, string>): Promise<Response> {
  const search = new URLSearchParams(Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]));
  return fetch(url(`/v1/admin/audit-log?${search}`), { headers: headers ?? (await adminHeaders(config)) });
}

/** Every event a query matches, page by page with `limit`; also checks each page's size. */
async function readAll(query: Record<string, string | number>, limit?: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page: Page = await json(await read({ ...query, ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }), 200);
    if (page.nextCursor) assert.equal(page.items.length, limit ?? 20, 'a page before the last is full');
    events.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return events;
  }
  throw new Error('the cursor never ended');
}

interface Seeded {
  id: number;
  at: string;
  actorId: string;
  targetType: string;
  targetId: string;
}

describe('GET /v1/admin/audit-log', () => {
  const action = `test.audit_read_${randomBytes(4).toString('hex')}`;
  const actors = [randomUUID(), randomUUID()];
  const targets = ['t-1', 't-2', 't-3'].map((t) => `${t}-${randomBytes(3).toString('hex')}`);
  const seeded: Seeded[] = [];

  before(async () => {
    // 27 events: 20 a second apart, 4 sharing one instant to the microsecond, 3 one microsecond apart.
    const instants = [
      ...Array.from({ length: 20 }, (_, i) => `2021-03-01T10:00:${String(i).padStart(2, '0')}.000000Z`),
      ...Array.from({ length: 4 }, () => '2021-03-01T10:00:30.123456Z'),
      '2021-03-01T10:00:40.000001Z',
      '2021-03-01T10:00:40.000002Z',
      '2021-03-01T10:00:40.000003Z',
    ];
    // Inserted shuffled, so that id order and time order disagree.
    const order = instants.map((at, i) => ({ at, i })).sort((a, b) => ((a.i * 7) % 27) - ((b.i * 7) % 27));
    for (const { at, i } of order) {
      const row = { at, actorId: actors[i % 2]!, targetType: i % 3 === 0 ? 'partner_client' : 'account', targetId: targets[i % 3]! };
      const [inserted] = await api.deps.sql<{ id: string }[]>`
        INSERT INTO identity.audit_log (occurred_at, actor_type, actor_id, action, target_type, target_id, details)
        VALUES (${at}::timestamptz, 'account', ${row.actorId}, ${action}, ${row.targetType}, ${row.targetId}, ${JSON.stringify({ n: i })}::jsonb)
        RETURNING id`;
      seeded.push({ ...row, id: Number(inserted!.id) });
    }
  });

  /** Newest first; same instant → higher id first. */
  const expected = (keep: (event: Seeded) => boolean = () => true) =>
    seeded
      .filter(keep)
      .sort((a, b) => (a.at === b.at ? b.id - a.id : a.at < b.at ? 1 : -1))
      .map((event) => event.id);

  test('newest first, 20 by default, and the cursor walks every event exactly once whatever the page size', async () => {
    const first: Page = await json(await read({ action }), 200);
    assert.equal(first.items.length, 20);
    assert.ok(first.nextCursor);
    assert.deepEqual(first.items.map((e) => e.id), expected().slice(0, 20));
    for (const limit of [1, 4, 7, 20, 100]) {
      assert.deepEqual((await readAll({ action }, limit)).map((e) => e.id), expected(), `limit ${limit}`);
    }
  });

  test('events are returned as stored, with the time to the microsecond', async () => {
    const [newest] = (await json<Page>(await read({ action, limit: 1 }), 200)).items;
    const stored = seeded.find((event) => event.id === newest!.id)!;
    assert.deepEqual(newest, {
      id: stored.id,
      occurredAt: '2021-03-01T10:00:40.000003Z',
      actorType: 'account',
      actorId: stored.actorId,
      action,
      targetType: stored.targetType,
      targetId: stored.targetId,
      ip: null,
      requestId: null,
      details: { n: 26 },
    });
  });

  test('filters: actor, target type and id, and a time window (from inclusive, to exclusive)', async () => {
    const ids = async (query: Record<string, string>) => (await readAll({ action, ...query }, 5)).map((e) => e.id);
    assert.deepEqual(await ids({ actorId: actors[0]! }), expected((e) => e.actorId === actors[0]));
    assert.deepEqual(await ids({ targetType: 'partner_client' }), expected((e) => e.targetType === 'partner_client'));
    assert.deepEqual(await ids({ targetId: targets[1]!, actorId: actors[1]! }), expected((e) => e.targetId === targets[1] && e.actorId === actors[1]));
    const from = '2021-03-01T10:00:05.000000Z';
    const to = '2021-03-01T10:00:40.000002Z';
    assert.deepEqual(await ids({ from, to }), expected((e) => e.at >= from && e.at < to));
    assert.equal((await ids({ from, to })).length, 20, '10:00:05 … 10:00:19, the four at 10:00:30, and 10:00:40.000001');
    assert.deepEqual(await ids({ from: '2021-03-01T11:00:40+01:00' }), expected((e) => e.at >= '2021-03-01T10:00:40'), 'offsets are honoured');
    assert.deepEqual(await ids({ targetId: 'nobody' }), []);
  });

  test('real events: a staff action through the API is readable, and nothing personal is in the answer', async () => {
    const admin = await signedInAs(config, 'admin');
    const email = `audited-${randomUUID()}@staff.comptoir.dev`;
    const created = await json<{ id: string }>(
      await fetch(url('/v1/admin/staff'), { method: 'POST', headers: { ...admin.headers, 'content-type': 'application/json' }, body: JSON.stringify({ email, role: 'ops' }) }),
      201,
    );
    const page: Page = await json(await read({ actorId: admin.accountId }), 200);
    assert.deepEqual(page.items.map((e) => e.action).sort(), ['identity.staff_created', 'staff.action']);
    const event = page.items.find((e) => e.action === 'identity.staff_created')!;
    assert.deepEqual([event.targetType, event.targetId, event.actorType], ['account', created.id, 'account']);
    assert.ok(event.requestId);
    assert.ok(event.ip);
    const everything = JSON.stringify(await readAll({}, 100));
    assert.ok(!everything.includes(email) && !everything.includes(email.split('@')[0]!), 'no email anywhere in the log');
  });

  test('bad input → 400 problem+json naming the parameter', async () => {
    assert.deepEqual(await fields(await read({ limit: 0 }), 400), ['limit']);
    assert.deepEqual(await fields(await read({ limit: 101 }), 400), ['limit']);
    assert.deepEqual(await fields(await read({ limit: 'ten' }), 400), ['limit']);
    assert.deepEqual(await fields(await read({ from: 'yesterday' }), 400), ['from']);
    assert.deepEqual(await fields(await read({ to: '2021-03-01' }), 400), ['to']);
    assert.deepEqual(await fields(await read({ from: '2021-03-02T00:00:00Z', to: '2021-03-01T00:00:00Z' }), 400), ['to']);
    assert.deepEqual(await fields(await read({ actor: 'x' }), 400), ['actor']);
    assert.deepEqual(await fields(await read({ action: 'x'.repeat(101) }), 400), ['action']);
    assert.deepEqual(await fields(await read({ cursor: 'garbage' }), 400), ['cursor']);
    const forged = Buffer.from(JSON.stringify(['2021-03-01 10:00:00', 1])).toString('base64url');
    assert.deepEqual(await fields(await read({ cursor: forged }), 400), ['cursor']);
  });

  test('only audit:read: catalog manager 403, admin without MFA 403, a partner 403, anonymous 401', async () => {
    await json(await read({}, (await signedInAs(config, 'catalog_manager')).headers), 403);
    await json(await read({}, (await signedInAs(config, 'admin', { mfa: false })).headers), 403);
    await upsertPartnerClient(api.deps.db, { id: 'audit-reader', name: 'Nosy partner', secretHash: await hashPassword(randomUUID()), scopes: ['catalog:import'] });
    const partner = await api.deps.tokens.signPartnerToken({ clientId: 'audit-reader', scopes: ['catalog:import'] });
    await json(await read({}, { authorization: `Bearer ${partner.accessToken}` }), 403);
    await json(await read({}, {}), 401);
  });
});

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { appendAudit } from '../../db/audit';
import { connectPostgres } from '../../platform/postgres';
import { testConfig } from '../support/stack';

const config = testConfig('audit-log');
const pg = connectPostgres(config.DATABASE_URL, { max: 2 });
after(() => pg.close());

test('the audit log takes new rows and refuses UPDATE, DELETE and TRUNCATE, even from the owner', async () => {
  const requestId = `req-${process.pid}-${Date.now()}`;
  const id = await appendAudit(pg.db, {
    actorType: 'anonymous',
    action: 'identity.login_failed',
    targetType: 'account',
    ip: '203.0.113.7',
    requestId,
    details: { reason: 'bad-password' },
  });
  const [row] = await pg.sql<{ action: string; occurred_at: string }[]>`SELECT action, occurred_at FROM identity.audit_log WHERE id = ${id}`;
  assert.equal(row?.action, 'identity.login_failed');
  assert.ok(Math.abs(new Date(row!.occurred_at).getTime() - Date.now()) < 60_000, 'stamped by the database, in UTC');

  for (const [operation, statement] of [
    ['UPDATE', pg.sql`UPDATE identity.audit_log SET action = 'identity.login' WHERE id = ${id}`],
    ['DELETE', pg.sql`DELETE FROM identity.audit_log WHERE id = ${id}`],
    ['TRUNCATE', pg.sql`TRUNCATE identity.audit_log`],
  ] as const) {
    await assert.rejects(statement, (error: Error & { code?: string }) => {
      assert.equal(error.code, '42501', `${operation}: ${error.message}`);
      assert.match(error.message, new RegExp(`append-only: ${operation} refused`));
      return true;
    });
  }
  const [after] = await pg.sql<{ action: string }[]>`SELECT action FROM identity.audit_log WHERE id = ${id}`;
  assert.equal(after?.action, 'identity.login_failed', 'the row is untouched');

  await assert.rejects(pg.sql`INSERT INTO identity.audit_log (actor_type, action) VALUES ('robot', 'x')`, /audit_log_actor_type/);
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';

test('local defaults work with an empty environment, and development secrets are generated once under the data dir', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'comptoir-config-'));
  const first = loadConfig({ DATA_DIR: dataDir });
  assert.equal(first.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/comptoir');
  assert.equal(first.TEMPORAL_NAMESPACE, 'comptoir');
  assert.equal(first.taskQueues.catalog, 'catalog');
  assert.match(first.PII_ENCRYPTION_KEY, /^[0-9a-f]{64}$/);
  assert.ok(first.ADMIN_TOKEN.length >= 32);
  const file = join(dataDir, 'secrets.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = loadConfig({ DATA_DIR: dataDir });
  assert.equal(second.ADMIN_TOKEN, first.ADMIN_TOKEN, 'reused, not regenerated');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).ADMIN_TOKEN, first.ADMIN_TOKEN);
});

test('production refuses to start without its secrets, naming them', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(32) }),
    (error: Error) => error instanceof ConfigError && /PII_ENCRYPTION_KEY, WEBHOOK_SIGNING_SECRET/.test(error.message) && !/ADMIN_TOKEN,/.test(error.message),
  );
  const ok = loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(32), PII_ENCRYPTION_KEY: 'ab'.repeat(32), WEBHOOK_SIGNING_SECRET: 's'.repeat(40) });
  assert.equal(ok.ADMIN_TOKEN, 'a'.repeat(32));
});

test('invalid values are reported by variable name', () => {
  assert.throws(() => loadConfig({ API_PORT: 'eighty', DATABASE_URL: 'not a url' }), (error: Error) => /API_PORT/.test(error.message) && /DATABASE_URL/.test(error.message));
});

test('secrets and card data never reach the logs', () => {
  let written = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((written += chunk), done()) });
  const logger = createLogger({ level: 'info', name: 't', destination: sink });
  logger.info({ req: { headers: { authorization: 'Bearer s3cret-token' } }, payment: { cardNumber: '4242424242424242', cvc: '123' }, user: { password: 'hunter2' } }, 'hello');
  assert.match(written, /hello/);
  for (const secret of ['s3cret-token', '4242424242424242', '"123"', 'hunter2']) assert.ok(!written.includes(secret), `${secret} leaked: ${written}`);
  assert.match(written, /\[redacted\]/);
});

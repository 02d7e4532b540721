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
  assert.match(first.PII_KEYS, /^v1:[A-Za-z0-9+/]{43}=$/);
  assert.equal(first.pii.keyring.current, 'v1');
  assert.equal(first.pii.lookupKey.length, 32);
  const file = join(dataDir, 'secrets.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = loadConfig({ DATA_DIR: dataDir });
  assert.equal(second.PII_KEYS, first.PII_KEYS, 'reused, not regenerated');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).PII_LOOKUP_KEY, first.PII_LOOKUP_KEY);
});

test('production refuses to start without its secrets, naming them', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'file', PII_KEYS: `v1:${Buffer.alloc(32, 1).toString('base64')}` }),
    (error: Error) => error instanceof ConfigError && /Missing secrets in production: PII_LOOKUP_KEY, WEBHOOK_SIGNING_SECRET\./.test(error.message),
  );
  const secrets = { PII_KEYS: `v1:${Buffer.alloc(32, 1).toString('base64')},v2:${Buffer.alloc(32, 2).toString('base64')}`, PII_LOOKUP_KEY: Buffer.alloc(32, 3).toString('base64'), WEBHOOK_SIGNING_SECRET: 's'.repeat(40) };
  const ok = loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'file', ...secrets });
  assert.equal(ok.pii.keyring.current, 'v2', 'the last key of the ring encrypts');
  assert.deepEqual([...ok.pii.keyring.keys.keys()], ['v1', 'v2']);
  assert.throws(() => loadConfig({ NODE_ENV: 'production', ...secrets }), /NOTIFICATION_SINK=log is for development/);
  assert.throws(() => loadConfig({ NODE_ENV: 'production', NOTIFICATION_SINK: 'file', ...secrets, PII_KEYS: 'v1:c2hvcnQ=' }), (error: Error) => error instanceof ConfigError && /32 bytes/.test(error.message) && !error.message.includes('c2hvcnQ'));
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, startApi, testConfig } from '../support/stack';

test('graceful shutdown lets an in-flight request finish, then refuses new ones', async () => {
  // With Redis unreachable, /readyz spends its full check timeout (2 s) waiting: a request still in flight when stop() is called.
  const api = await startApi(testConfig('shutdown', { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
  const inFlight = fetch(`${api.baseUrl}/readyz`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = api.stop();

  const response = await inFlight;
  assert.equal(response.status, 503, 'the request in flight got its full answer');
  assert.equal(((await response.json()) as { checks: Record<string, string> }).checks.redis, 'down');
  await stopped;
  await assert.rejects(fetch(`${api.baseUrl}/healthz`), 'no new connections after shutdown');
});

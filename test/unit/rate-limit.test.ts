import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../../api/deps';
import { addressSubject, byClientIp, rateLimit } from '../../api/rate-limit';
import { createLogger } from '../../platform/logger';
import { createRateLimiter, lockoutKey, rateLimitKey, rateLimitRules, type RateLimitRule } from '../../platform/rate-limit';
import { connectRedis, startRedis } from '../../platform/redis';
import { clearRedisPrefix } from '../../scripts/lib/services';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `${process.env.REDIS_KEY_PREFIX ?? 'comptoir-test:'}rate-limit:${process.pid}-${Date.now().toString(36)}:`;
const redis = connectRedis(redisUrl, prefix);
const { logger } = memoryLogger();
const limiter = createRateLimiter(redis, logger);

before(() => redis.connect());
after(async () => {
  redis.disconnect();
  await clearRedisPrefix(redisUrl, prefix);
});

interface LogLine {
  level: string;
  msg: string;
}

/** A real pino logger whose lines land in an array the test can read. */
function memoryLogger() {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', name: 'rate-limit-test', destination: sink }), lines };
}

const rule = (name: string, limit: number, windowMs: number): RateLimitRule => ({ name, limit, windowMs });

test('a window admits exactly `limit` requests, counting down, then refuses without counting the refusals', async () => {
  const tight = rule('exact', 3, 10_000);
  const decisions = [];
  for (let i = 0; i < 5; i++) decisions.push(await limiter.consume(tight, 'alice'));
  assert.deepEqual(
    decisions.map((d) => [d.allowed, d.remaining]),
    [
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ],
  );
  assert.deepEqual(
    decisions.slice(0, 3).map((d) => d.retryAfterMs),
    [0, 0, 0],
  );
  for (const refused of decisions.slice(3)) {
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= tight.windowMs, `retryAfterMs ${refused.retryAfterMs}`);
  }
  // Counted in Redis (not by a silent local fallback), one entry per admitted request, expiring with the window.
  assert.equal(await redis.zcard(rateLimitKey(tight, 'alice')), 3);
  const ttl = await redis.pttl(rateLimitKey(tight, 'alice'));
  assert.ok(ttl > 0 && ttl <= tight.windowMs, `pttl ${ttl}`);
});

test('the window slides: each request leaves it on its own, not all at once at a window boundary', async () => {
  const sliding = rule('sliding', 2, 300);
  assert.equal((await limiter.consume(sliding, 'bob')).allowed, true);
  await sleep(150);
  assert.equal((await limiter.consume(sliding, 'bob')).allowed, true);
  const refused = await limiter.consume(sliding, 'bob');
  assert.equal(refused.allowed, false);
  // The first request leaves ~300 ms after it was made, i.e. ~150 ms from now.
  assert.ok(refused.retryAfterMs > 50 && refused.retryAfterMs <= 160, `retryAfterMs ${refused.retryAfterMs}`);

  await sleep(refused.retryAfterMs + 15);
  const readmitted = await limiter.consume(sliding, 'bob');
  assert.deepEqual([readmitted.allowed, readmitted.remaining], [true, 0], 'the first request has aged out');
  const stillFull = await limiter.consume(sliding, 'bob');
  assert.equal(stillFull.allowed, false, 'the second request is still inside the window: a fixed window would have reset both');
  assert.ok(stillFull.retryAfterMs > 0 && stillFull.retryAfterMs <= 300, `retryAfterMs ${stillFull.retryAfterMs}`);
});

test('subjects and rules are counted apart', async () => {
  const one = rule('apart', 1, 10_000);
  assert.equal((await limiter.consume(one, '198.51.100.1')).allowed, true);
  assert.equal((await limiter.consume(one, '198.51.100.1')).allowed, false);
  assert.equal((await limiter.consume(one, '198.51.100.2')).allowed, true, 'another subject has its own window');
  assert.equal((await limiter.consume(rule('apart-too', 1, 10_000), '198.51.100.1')).allowed, true, 'another rule has its own window');
});

test('the fifth consecutive failure locks for 1 s, each further one doubles it up to 15 minutes, and clearing resets', async () => {
  const scope = 'login';
  const account = 'carol@example.com';
  assert.deepEqual(await limiter.lockout(scope, account), { locked: false, retryAfterMs: 0 });
  for (let i = 1; i <= 4; i++) {
    const record = await limiter.recordFailure(scope, account);
    assert.deepEqual(record, { failures: i, locked: false, retryAfterMs: 0 });
  }
  assert.equal((await limiter.lockout(scope, account)).locked, false, 'four failures do not lock');

  const fifth = await limiter.recordFailure(scope, account);
  assert.deepEqual(fifth, { failures: 5, locked: true, retryAfterMs: 1_000 });
  const locked = await limiter.lockout(scope, account);
  assert.ok(locked.locked && locked.retryAfterMs > 800 && locked.retryAfterMs <= 1_000, JSON.stringify(locked));

  const sixth = await limiter.recordFailure(scope, account);
  assert.deepEqual(sixth, { failures: 6, locked: true, retryAfterMs: 2_000 });
  const longer = await limiter.lockout(scope, account);
  assert.ok(longer.retryAfterMs > 1_800 && longer.retryAfterMs <= 2_000, JSON.stringify(longer));

  let last = sixth;
  for (let i = 7; i <= 20; i++) last = await limiter.recordFailure(scope, account);
  assert.deepEqual(last, { failures: 20, locked: true, retryAfterMs: 15 * 60_000 }, 'capped at 15 minutes');
  const ttl = await redis.pttl(lockoutKey(scope, account));
  assert.ok(ttl > 24 * 3_600_000 - 5_000 && ttl <= 24 * 3_600_000, `failures are forgotten after 24 h of quiet (pttl ${ttl})`);

  await limiter.clearFailures(scope, account);
  assert.deepEqual(await limiter.lockout(scope, account), { locked: false, retryAfterMs: 0 });
  assert.deepEqual(await limiter.recordFailure(scope, account), { failures: 1, locked: false, retryAfterMs: 0 }, 'counting starts again from one');
});

test('a lock ends by itself, and the next failure locks twice as long', async () => {
  const quick = createRateLimiter(redis, logger, { lockout: { baseMs: 60 } });
  for (let i = 0; i < 5; i++) await quick.recordFailure('quick', 'dave');
  assert.equal((await quick.lockout('quick', 'dave')).locked, true);
  await sleep(80);
  assert.deepEqual(await quick.lockout('quick', 'dave'), { locked: false, retryAfterMs: 0 });
  assert.deepEqual(await quick.recordFailure('quick', 'dave'), { failures: 6, locked: true, retryAfterMs: 120 });
});

test('with Redis unreachable the limiter counts in the process, with the same rules, and warns once', async () => {
  const down = startRedis(connectRedis('redis://127.0.0.1:1', prefix), () => {});
  const { logger: sinkLogger, lines } = memoryLogger();
  const local = createRateLimiter(down, sinkLogger);
  try {
    const tight = rule('fallback', 2, 300);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await local.consume(tight, 'erin'));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.remaining]),
      [
        [true, 1],
        [true, 0],
        [false, 0],
      ],
    );
    assert.ok(decisions[2]!.retryAfterMs > 0 && decisions[2]!.retryAfterMs <= 300, `retryAfterMs ${decisions[2]!.retryAfterMs}`);
    assert.equal((await local.consume(tight, 'frank')).allowed, true, 'subjects are apart locally too');

    for (let i = 0; i < 4; i++) await local.recordFailure('login', 'erin');
    assert.deepEqual(await local.recordFailure('login', 'erin'), { failures: 5, locked: true, retryAfterMs: 1_000 });
    assert.deepEqual(await local.recordFailure('login', 'erin'), { failures: 6, locked: true, retryAfterMs: 2_000 }, 'doubles locally too');
    const locked = await local.lockout('login', 'erin');
    assert.ok(locked.locked && locked.retryAfterMs > 1_800 && locked.retryAfterMs <= 2_000, JSON.stringify(locked));
    await local.clearFailures('login', 'erin');
    assert.equal((await local.lockout('login', 'erin')).locked, false);

    await sleep(decisions[2]!.retryAfterMs + 10);
    assert.equal((await local.consume(tight, 'erin')).allowed, true, 'the local window slides as well');

    await sleep(10);
    const warnings = lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(warnings[0]!.msg, /rate limiter cannot reach Redis/);
    assert.equal(lines.length, 1, 'no line per request');
  } finally {
    down.disconnect();
  }
});

/** A TCP relay to the real Redis that can stop passing requests on (holding them) to play a hung server. */
async function freezableRelay(target: URL): Promise<{ url: string; freeze(): void; thaw(): void; close(): Promise<void> }> {
  let frozen = false;
  const held: { upstream: Socket; data: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (data) => (frozen ? held.push({ upstream, data }) : upstream.write(data)));
    upstream.on('data', (data) => client.write(data));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => (frozen = true),
    // Held requests are delivered in order, so the client's replies stay matched to its commands.
    thaw: () => {
      frozen = false;
      for (const { upstream, data } of held.splice(0)) upstream.write(data);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a hung Redis costs one bounded wait, then the process counts alone until Redis answers, which is logged once', async () => {
  const relay = await freezableRelay(new URL(redisUrl));
  const client = connectRedis(relay.url, prefix);
  await client.connect();
  const { logger: sinkLogger, lines } = memoryLogger();
  const hung = createRateLimiter(client, sinkLogger, { commandTimeoutMs: 50, backoffMs: 100 });
  const tight = rule('hung', 2, 10_000);
  try {
    assert.equal((await hung.consume(tight, 'grace')).allowed, true, 'through Redis');
    relay.freeze();
    const started = performance.now();
    const first = await hung.consume(tight, 'grace');
    const waited = performance.now() - started;
    assert.ok(waited >= 45 && waited < 500, `waited ${waited} ms`);
    assert.deepEqual([first.allowed, first.remaining], [true, 1], 'counted locally from scratch');
    const quickStart = performance.now();
    assert.equal((await hung.consume(tight, 'grace')).allowed, true);
    assert.ok(performance.now() - quickStart < 20, 'during the back-off no command is even tried');
    assert.equal((await hung.consume(tight, 'grace')).allowed, false, 'the local window is full');

    relay.thaw();
    await sleep(120);
    const back = await hung.consume(tight, 'grace');
    // The timed-out command reached Redis late and counted: two in Redis now, so this third is refused.
    assert.equal(back.allowed, false);
    assert.equal(await redis.zcard(rateLimitKey(tight, 'grace')), 2);

    await sleep(10);
    assert.deepEqual(
      lines.map((line) => line.level),
      ['warn', 'info'],
      JSON.stringify(lines),
    );
    assert.match(lines[1]!.msg, /reaches Redis again/);
  } finally {
    client.disconnect();
    await relay.close();
  }
});

test('the middleware answers 429 problem+json with Retry-After once the client address is over the limit', async () => {
  const { logger: sinkLogger } = memoryLogger();
  const login = rule('mw-login', 2, 30_000);
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('deps', { redis, logger: sinkLogger } as unknown as AppDeps);
    await next();
  });
  app.use('/login', rateLimit(rateLimitRules.api.ip, byClientIp()));
  app.use('/login', rateLimit(login, byClientIp()));
  app.post('/login', (c) => c.json({ ok: true }));
  app.post('/proxied', rateLimit(login, byClientIp({ trustProxy: true })), (c) => c.json({ ok: true }));

  const from = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress } } });
  const post = (path: string, address: string, headers: Record<string, string> = {}) => app.request(path, { method: 'POST', headers }, from(address));

  const first = await post('/login', '203.0.113.7');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('RateLimit-Limit'), '2', 'the tighter of the two rules is advertised');
  assert.equal(first.headers.get('RateLimit-Remaining'), '1');
  // The same address written IPv4-mapped is the same client, and a forged X-Forwarded-For changes nothing.
  const second = await post('/login', '::ffff:203.0.113.7', { 'X-Forwarded-For': '192.0.2.99' });
  assert.equal(second.status, 200);
  assert.equal(second.headers.get('RateLimit-Remaining'), '0');

  const refused = await post('/login', '203.0.113.7', { 'X-Forwarded-For': '192.0.2.100' });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('Content-Type'), 'application/problem+json');
  const retryAfter = Number(refused.headers.get('Retry-After'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${refused.headers.get('Retry-After')}`);
  const body = (await refused.json()) as { type: string; status: number; title: string; instance: string };
  assert.equal(body.type, 'https://comptoir.dev/problems/rate-limited');
  assert.equal(body.status, 429);
  assert.equal(body.title, 'Too Many Requests');
  assert.equal(body.instance, '/login');

  assert.equal((await post('/login', '203.0.113.8')).status, 200, 'another client is unaffected');

  // Behind a trusted proxy the address it appended (the last entry) is the client.
  assert.equal((await post('/proxied', '10.0.0.1', { 'X-Forwarded-For': '192.0.2.1, 198.51.100.20' })).status, 200);
  assert.equal((await post('/proxied', '10.0.0.1', { 'X-Forwarded-For': '192.0.2.2, 198.51.100.20' })).status, 200);
  assert.equal((await post('/proxied', '10.0.0.1', { 'X-Forwarded-For': '192.0.2.3, 198.51.100.20' })).status, 429, 'a forged first entry does not escape the limit');
  assert.equal((await post('/proxied', '10.0.0.1', { 'X-Forwarded-For': '198.51.100.21' })).status, 200, 'another client behind the same proxy is counted apart');
});

test('IPv6 clients are counted by /64, IPv4 by address', () => {
  assert.equal(addressSubject('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressSubject('2001:DB8:1:2:ffff:0:0:9'), '2001:db8:1:2::/64');
  assert.equal(addressSubject('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressSubject('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressSubject('::1'), '0:0:0:0::/64');
  assert.equal(addressSubject('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(addressSubject('192.0.2.1'), '192.0.2.1');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import { connectPostgres } from '../../platform/postgres';
import { connectRedis } from '../../platform/redis';
import { bumpSearchGeneration, publishSearchGeneration } from '../../search/generation';
import { testConfig } from '../support/stack';

const config = testConfig('search-generation');
const alias = `generation-${process.pid}-${Date.now().toString(36)}`;
const pg = connectPostgres(config.DATABASE_URL, { max: 2 });
const redis = connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);

before(() => redis.connect());
after(async () => {
  await redis.del(catalogCacheKeys.searchGeneration(alias));
  redis.disconnect();
  await pg.close();
});

test('the generation is bumped in the writing transaction and only reaches Redis once committed', async () => {
  const key = catalogCacheKeys.searchGeneration(alias);
  assert.equal(await publishSearchGeneration(pg.sql, redis, alias), 0, 'an alias never changed is at generation 0');

  await pg.sql.begin(async (tx) => {
    assert.equal(await bumpSearchGeneration(tx, alias), 1);
    // Not committed yet: publishing from another connection still sees the old generation.
    assert.equal(await publishSearchGeneration(pg.sql, redis, alias), 0);
  });
  assert.equal(await publishSearchGeneration(pg.sql, redis, alias), 1);
  assert.equal(await redis.get(key), '1');

  await pg.sql.begin(async (tx) => {
    await bumpSearchGeneration(tx, alias);
    throw new Error('rolled back');
  }).catch(() => {});
  assert.equal(await publishSearchGeneration(pg.sql, redis, alias), 1, 'a rolled-back change bumps nothing');
});

test('publishing is idempotent and never moves the copy in Redis backwards', async () => {
  const key = catalogCacheKeys.searchGeneration(alias);
  await bumpSearchGeneration(pg.sql, alias);
  const committed = await publishSearchGeneration(pg.sql, redis, alias);
  assert.equal(await publishSearchGeneration(pg.sql, redis, alias), committed, 'publishing again changes nothing');
  // A publication from a process that read an older generation arrives late: it must not win.
  await redis.set(key, String(committed + 5));
  assert.equal(await publishSearchGeneration(pg.sql, redis, alias), committed + 5);
  assert.equal(await redis.get(key), String(committed + 5));
});

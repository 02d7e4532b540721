import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import { catalogCacheKeys } from '../cache/catalog-keys';

type Queryable = postgres.Sql | postgres.TransactionSql;

/**
 * The generation of a search alias counts the changes to what it answers. Postgres holds it, bumped in
 * the transaction that makes a change; Redis holds a copy the API keys its result cache by, published
 * once the change is committed, so an answer computed before a change is never served after it.
 */
export async function bumpSearchGeneration(tx: Queryable, alias: string): Promise<number> {
  const [row] = await tx<{ generation: number }[]>`
    INSERT INTO catalog.search_generations (alias, generation) VALUES (${alias}, 1)
    ON CONFLICT (alias) DO UPDATE SET generation = catalog.search_generations.generation + 1
    RETURNING generation::int`;
  return row!.generation;
}

// Never moves the copy backwards: a publication delayed behind a later one must not revive old answers.
const publishScript = `
local current = tonumber(redis.call('get', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('set', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return current`;

/** Copies the committed generation to Redis; idempotent, so it is safe to repeat after any failure. */
export async function publishSearchGeneration(sql: Queryable, redis: Redis, alias: string): Promise<number> {
  const [row] = await sql<{ generation: number }[]>`
    SELECT coalesce((SELECT generation::int FROM catalog.search_generations WHERE alias = ${alias}), 0) AS generation`;
  return Number(await redis.eval(publishScript, 1, catalogCacheKeys.searchGeneration(alias), String(row!.generation)));
}

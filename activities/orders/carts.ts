import { expireIdleCarts } from '../../db/carts';
import { cartIdleDays } from '../../orders/carts';
import type { Database } from '../../platform/postgres';

export function createCartActivities({ db }: { db: Database }) {
  return {
    /** Idempotent: a cart already expired is not counted again. */
    async expireIdleCarts(input: { limit: number }): Promise<{ count: number; more: boolean }> {
      const count = await expireIdleCarts(db, new Date(Date.now() - cartIdleDays * 86_400_000), input.limit);
      return { count, more: count === input.limit };
    },
  };
}

export type CartActivities = ReturnType<typeof createCartActivities>;

/**
 * What the orders domain holds about a person, for the GDPR registry (identity/gdpr.ts). Orders are
 * financial records the law makes us keep: erasure keeps their amounts, lines, dates and the
 * pseudonymous account id, and removes the shipping address. Carts go entirely.
 */
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { carts, orderRecords } from '../db/schema/orders';
import { piiFields } from '../identity/pii-fields';
import type { Config } from '../platform/config';
import { decryptPii } from '../platform/pii';
import type { Database } from '../platform/postgres';

export async function exportOrders(db: Database, config: Config, accountId: string): Promise<Record<string, unknown>> {
  const rows = await db.select().from(orderRecords).where(eq(orderRecords.accountId, accountId)).orderBy(orderRecords.createdAt);
  const cartRows = await db.select({ id: carts.id, status: carts.status, currency: carts.currency, createdAt: carts.createdAt }).from(carts).where(eq(carts.accountId, accountId));
  return {
    orders: rows.map((order) => ({
      id: order.id,
      status: order.status,
      currency: order.currency,
      totalAmount: order.totalAmount,
      createdAt: order.createdAt,
      shippingMethod: order.shippingMethod,
      shippingAddress: order.shippingAddressEnc ? JSON.parse(decryptPii(config.pii.keyring, order.shippingAddressEnc, piiFields.orderShippingAddress.context(order.id))) : null,
    })),
    carts: cartRows,
  };
}

/** Idempotent: a second run finds no address and no cart left, and changes 0 rows. */
export async function eraseOrders(db: Database, accountId: string): Promise<number> {
  return db.transaction(async (tx) => {
    const addresses = await tx
      .update(orderRecords)
      .set({ shippingAddressEnc: null, updatedAt: sql`now()` })
      .where(and(eq(orderRecords.accountId, accountId), isNotNull(orderRecords.shippingAddressEnc)))
      .returning({ id: orderRecords.id });
    const removedCarts = await tx.delete(carts).where(eq(carts.accountId, accountId)).returning({ id: carts.id });
    return addresses.length + removedCarts.length;
  });
}

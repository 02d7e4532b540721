/**
 * Carts: one owner each — a signed-in customer (one open cart at a time) or whoever holds the cart
 * token of an anonymous cart. Someone else's cart answers exactly like a missing one. Lines are SKUs and
 * quantities; everything with a price is recomputed by `priceCart` on every read.
 */
import { sql } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import { availableBySku } from '../db/inventory';
import { cartById, cartIdByTokenHash, deleteLine, insertCart, linesOf, openCartOfAccount, touchCart, upsertLine, type CartRow } from '../db/carts';
import { variantsForSale } from '../db/catalog';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Database, Executor } from '../platform/postgres';
import { priceWithPromotions, type PromotedCart } from '../promotions/pricing';
import { maxQuantityPerLine } from './pricing';
import type { ShippingMethod } from './shipping';

export const cartTokenHeader = 'x-cart-token';
/** Carts nobody touched for this long expire (the expiry sweep marks them). */
export const cartIdleDays = 30;

const cartTokenPrefix = 'cart_';
// Serialises a customer's cart changes that could each create or merge one (two tabs, two sign-ins).
const sqlLock = (accountId: string) => sql`SELECT pg_advisory_xact_lock(hashtext(${`cart:${accountId}`}))`;
const hashCartToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

export interface CartOwner {
  accountId?: string;
  cartToken?: string;
}

export class CartLineRefused extends Error {
  override name = 'CartLineRefused';
  constructor(
    readonly reason: 'unknown_sku' | 'not_for_sale' | 'no_price_in_currency',
    message: string,
  ) {
    super(message);
  }
}

export interface CartView extends PromotedCart {
  id: string;
  status: CartRow['status'];
  owner: 'customer' | 'anonymous';
  updatedAt: string;
}

/**
 * A signed-in customer gets their open cart back if they have one (one cart per customer); anyone
 * else gets a new anonymous cart and, once, its token.
 */
export async function openCart(db: Database, currency: string, owner: { accountId?: string }): Promise<{ cart: CartRow; created: boolean; token?: string }> {
  if (owner.accountId) {
    const accountId = owner.accountId;
    return db.transaction(async (tx) => {
      await tx.execute(sqlLock(accountId));
      const existing = await openCartOfAccount(tx, accountId);
      if (existing) return { cart: existing, created: false };
      return { cart: await insertCart(tx, { accountId, currency }), created: true };
    });
  }
  const token = `${cartTokenPrefix}${randomBytes(32).toString('base64url')}`;
  return { cart: await insertCart(db, { tokenHash: hashCartToken(token), currency }), created: true, token };
}

/** The cart if `owner` owns it; undefined otherwise (missing and not-yours look the same). */
export async function ownedCart(db: Executor, cartId: string, owner: CartOwner, options: { lock?: boolean } = {}): Promise<CartRow | undefined> {
  const cart = await cartById(db, cartId, options);
  if (!cart) return undefined;
  if (cart.accountId) return owner.accountId === cart.accountId ? cart : undefined;
  return owner.cartToken && cart.tokenHash === hashCartToken(owner.cartToken) ? cart : undefined;
}

/** The cart priced as it stands, promotions and coupons included, with shipping when a method and destination are known. */
export async function cartView(db: Executor, cart: CartRow, shipping?: { method: ShippingMethod; country: string }): Promise<CartView> {
  const lines = await linesOf(db, cart.id);
  const skus = lines.map((line) => line.sku);
  const [variants, availability] = await Promise.all([variantsForSale(db, skus, cart.currency), availableBySku(db, skus)]);
  const priced = await priceWithPromotions(db, {
    currency: cart.currency,
    lines,
    variants,
    availability,
    ...(shipping ? { shipping } : {}),
    codes: cart.couponCodes,
    ...(cart.accountId ? { accountId: cart.accountId } : {}),
    now: new Date(),
  });
  return {
    id: cart.id,
    status: cart.status,
    owner: cart.accountId ? 'customer' : 'anonymous',
    updatedAt: cart.updatedAt.toISOString(),
    ...priced,
  };
}

/** Sets a line's quantity (adding the line if new). The SKU must exist, be published and have a price in the cart's currency. */
export async function setLine(db: Database, cart: CartRow, sku: string, quantity: number): Promise<void> {
  if (quantity < 1 || quantity > maxQuantityPerLine) throw new RangeError(`quantity must be 1..${maxQuantityPerLine}`);
  const variant = (await variantsForSale(db, [sku], cart.currency)).get(sku);
  if (!variant) throw new CartLineRefused('unknown_sku', `No product has the SKU ${sku}`);
  if (!variant.published) throw new CartLineRefused('not_for_sale', `${sku} is not for sale`);
  if (variant.amount === null) throw new CartLineRefused('no_price_in_currency', `${sku} has no price in ${cart.currency}`);
  await db.transaction(async (tx) => {
    await upsertLine(tx, cart.id, sku, quantity);
    await touchCart(tx, cart.id);
  });
}

export async function removeLine(db: Database, cart: CartRow, sku: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await deleteLine(tx, cart.id, sku);
    if (removed) await touchCart(tx, cart.id);
    return removed;
  });
}

/**
 * After sign-in, the anonymous cart joins the customer's: adopted as it is when the customer has no
 * open cart, otherwise its lines are added to the customer's (quantities summed, capped) and it is
 * closed as `merged`. Either way the cart token stops working. Idempotent: a token already used merges nothing.
 */
export async function mergeAnonymousCart(db: Database, accountId: string, cartToken: string): Promise<CartRow | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sqlLock(accountId));
    const anonymousId = await cartIdByTokenHash(tx, hashCartToken(cartToken));
    const anonymous = anonymousId ? await ownedCart(tx, anonymousId, { cartToken }, { lock: true }) : undefined;
    if (!anonymous || anonymous.status !== 'open') return openCartOfAccount(tx, accountId);
    const mine = await openCartOfAccount(tx, accountId, { lock: true });
    if (!mine) {
      await touchCart(tx, anonymous.id, { accountId, tokenHash: null });
      return cartById(tx, anonymous.id);
    }
    const theirs = await linesOf(tx, anonymous.id);
    const current = new Map((await linesOf(tx, mine.id)).map((line) => [line.sku, line.quantity]));
    for (const line of theirs) await upsertLine(tx, mine.id, line.sku, Math.min(maxQuantityPerLine, (current.get(line.sku) ?? 0) + line.quantity));
    await touchCart(tx, anonymous.id, { status: 'merged', tokenHash: null, accountId });
    await touchCart(tx, mine.id);
    return cartById(tx, mine.id);
  });
}

/**
 * Copies the lines of a checked-out cart into its owner's open cart (created if needed), once: the old
 * cart is marked `merged` in the same transaction, so a retried compensation finds nothing to copy.
 * Returns the open cart's id, or undefined when there was nothing to restore.
 */
export async function restoreCartLines(db: Database, fromCartId: string): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const from = await cartById(tx, fromCartId, { lock: true });
    if (!from?.accountId || from.status !== 'checked_out') return undefined;
    const accountId = from.accountId;
    await tx.execute(sqlLock(accountId));
    const target = (await openCartOfAccount(tx, accountId, { lock: true })) ?? (await insertCart(tx, { accountId, currency: from.currency }));
    const current = new Map((await linesOf(tx, target.id)).map((line) => [line.sku, line.quantity]));
    for (const line of await linesOf(tx, from.id)) {
      await upsertLine(tx, target.id, line.sku, Math.min(maxQuantityPerLine, (current.get(line.sku) ?? 0) + line.quantity));
    }
    await touchCart(tx, from.id, { status: 'merged' });
    await touchCart(tx, target.id);
    return target.id;
  });
}

/**
 * The shipping address travels through the checkout workflow (and so stays in its history) sealed
 * under the PII keyring and bound to the cart: Temporal never holds it in clear. A sealed address lives
 * minutes, until `createOrder` re-encrypts it for the order; keep a retired PII key in the ring until
 * the checkouts started before its rotation have created their orders.
 */
const checkoutAddressContext = (cartId: string) => `orders.checkout.shipping_address:${cartId}`;

export function sealCheckoutAddress(config: Pick<Config, 'pii'>, cartId: string, address: unknown): string {
  return encryptPii(config.pii.keyring, JSON.stringify(address), checkoutAddressContext(cartId));
}

/** The address as JSON text, for re-encryption under the order. */
export function openCheckoutAddress(config: Pick<Config, 'pii'>, cartId: string, sealed: string): string {
  return decryptPii(config.pii.keyring, sealed, checkoutAddressContext(cartId));
}

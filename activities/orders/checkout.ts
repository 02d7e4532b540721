import { ApplicationFailure } from '@temporalio/activity';
import { cartById, linesOf } from '../../db/carts';
import { variantsForSale } from '../../db/catalog';
import { availableBySku } from '../../db/inventory';
import { insertOrder, markCartCheckedOut, orderById, orderConfirmedKey, setOrderStatus } from '../../db/orders';
import { enqueueOrderEvent } from '../../notifications/order-events';
import { openCheckoutAddress, restoreCartLines } from '../../orders/carts';
import type { OrderStatus } from '../../db/schema/orders';
import { piiFields } from '../../identity/pii-fields';
import type { PricedCart } from '../../orders/pricing';
import { commitRedemptions, PromotionUnavailable, releaseRedemptions, reserveRedemptions } from '../../db/promotions';
import { priceWithPromotions, type PromotedCart } from '../../promotions/pricing';
import type { ShippingMethod } from '../../orders/shipping';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import { encryptPii } from '../../platform/pii';
import type { Database } from '../../platform/postgres';
import type { ShippingAddress } from '../../workflows/orders/definitions';

export interface CheckoutActivityDeps {
  db: Database;
  config: Config;
  logger: Logger;
}

export function createCheckoutActivities({ db, config, logger }: CheckoutActivityDeps) {
  return {
    /**
     * The one pricing step of a checkout: the cart's lines at the catalog's current prices, shipping and
     * VAT for the destination. Refuses (non-retryable) a cart that cannot be bought as it is.
     */
    async priceCheckout(input: { cartId: string; accountId: string; shippingMethod: ShippingMethod; shippingCountry: string }): Promise<PromotedCart> {
      const cart = await cartById(db, input.cartId);
      if (!cart || cart.accountId !== input.accountId) throw ApplicationFailure.nonRetryable('no such cart', 'CartNotFound');
      if (cart.status !== 'open') throw ApplicationFailure.nonRetryable(`the cart is ${cart.status}`, 'CartClosed');
      const lines = await linesOf(db, cart.id);
      const skus = lines.map((line) => line.sku);
      const [variants, availability] = await Promise.all([variantsForSale(db, skus, cart.currency), availableBySku(db, skus)]);
      const priced = await priceWithPromotions(db, {
        currency: cart.currency,
        lines,
        variants,
        availability,
        shipping: { method: input.shippingMethod, country: input.shippingCountry },
        codes: cart.couponCodes,
        accountId: input.accountId,
        now: new Date(),
      });
      // The shopper was shown these coupons on the cart: one that no longer applies is a refusal, not a silent full price.
      const lapsed = priced.coupons.filter((coupon) => !coupon.applied);
      if (lapsed.length > 0) {
        throw ApplicationFailure.create({
          message: `coupon ${lapsed.map((coupon) => `${coupon.code} (${coupon.reason?.replaceAll('_', ' ')})`).join(', ')} no longer applies`,
          type: 'CouponNotApplicable',
          details: [lapsed],
          nonRetryable: true,
        });
      }
      // Stock is not judged here: the reservation that follows is the one atomic answer (409 out-of-stock).
      const blocking = priced.lines.filter((line) => line.problem && line.problem !== 'quantity_above_stock');
      if (lines.length === 0 || blocking.length > 0 || priced.shippingAmount === undefined) {
        const problems = blocking.map((line) => ({ sku: line.sku, problem: line.problem }));
        throw ApplicationFailure.create({
          message: lines.length === 0 ? 'the cart is empty' : 'the cart cannot be bought as it is',
          type: 'CartNotPurchasable',
          details: [problems],
          nonRetryable: true,
        });
      }
      return priced;
    },

    /** Creates the order from the priced cart, once (a retry finds it and changes nothing), and closes the cart. */
    async createOrder(input: {
      orderId: string;
      cartId: string;
      accountId: string;
      priced: PricedCart;
      shippingCountry?: string;
      /** Sealed by the API for this cart; or, from checkouts accepted before sealing, the address itself. */
      shippingAddressSealed?: string;
      shippingAddress?: ShippingAddress;
      shippingMethod: ShippingMethod;
      workflowId: string;
    }): Promise<{ created: boolean }> {
      const { priced } = input;
      const address = input.shippingAddressSealed ? openCheckoutAddress(config, input.cartId, input.shippingAddressSealed) : JSON.stringify(input.shippingAddress ?? null);
      const created = await db.transaction(async (tx) => {
        const inserted = await insertOrder(
          tx,
          {
            id: input.orderId,
            cartId: input.cartId,
            accountId: input.accountId,
            status: 'PENDING',
            currency: priced.currency,
            subtotalAmount: priced.subtotalAmount,
            shippingAmount: priced.shippingAmount,
            discountAmount: priced.discountAmount,
            taxAmount: priced.taxAmount,
            totalAmount: priced.totalAmount,
            shippingMethod: input.shippingMethod,
            // A task scheduled by the checkout code of before sealed addresses carries only the address.
            shippingCountry: input.shippingCountry ?? input.shippingAddress?.country ?? '',
            shippingAddressEnc: encryptPii(config.pii.keyring, address, piiFields.orderShippingAddress.context(input.orderId)),
            workflowId: input.workflowId,
          },
          priced.lines.map((line) => ({
            sku: line.sku,
            title: line.title,
            quantity: line.quantity,
            unitAmount: line.unitAmount,
            lineAmount: line.lineAmount,
            // Tasks scheduled before promotions priced lines carry no discount.
            discountAmount: line.discountAmount ?? 0,
            taxAmount: line.taxAmount,
          })),
        );
        if (inserted) await markCartCheckedOut(tx, input.cartId);
        // The promotions' budgets are held with the order, in its transaction: all of them or no order.
        const promotions = 'promotions' in priced ? (priced as PromotedCart).promotions : [];
        if (promotions.length > 0) {
          await reserveRedemptions(tx, { orderId: input.orderId, accountId: input.accountId, redemptions: promotions.map(({ promotionId, amount }) => ({ promotionId, amount })) }).catch((error: unknown) => {
            if (!(error instanceof PromotionUnavailable)) throw error;
            const code = promotions.find((promotion) => promotion.promotionId === error.promotionId)?.code;
            throw ApplicationFailure.create({
              message: `${code ? `coupon ${code}` : 'a promotion'} is no longer available (${error.reason.replaceAll('_', ' ')})`,
              type: 'PromotionUnavailable',
              details: [{ promotionId: error.promotionId, code: code ?? null, reason: error.reason }],
              nonRetryable: true,
            });
          });
        }
        return inserted;
      });
      if (created) logger.info({ orderId: input.orderId, total: priced.totalAmount, currency: priced.currency }, 'order created');
      return { created };
    },

    async recordOrderStatus(input: { orderId: string; status: OrderStatus; reason?: string }): Promise<{ changed: boolean }> {
      // One transaction: a worker killed between the status and its history line would leave the retry
      // seeing the status already set, and the history would miss that step for good.
      return {
        changed: await db.transaction(async (tx) => {
          const changed = await setOrderStatus(tx, config, input.orderId, input.status, input.reason ?? null);
          // Paid: the promotions' uses are spent for good (a compensation can no longer give them back).
          if (input.status === 'PAID') await commitRedemptions(tx, input.orderId);
          return changed;
        }),
      };
    },

    /**
     * A checkout that failed gives the shopper their lines back, in their open cart (a new one if they
     * have none): the checked-out cart stays with its order, since one cart has one checkout. Idempotent:
     * a cart restored once is not restored again.
     */
    async restoreCart(input: { cartId: string; orderId: string }): Promise<{ cartId: string | undefined }> {
      // The order will not be paid: the promotions it held go back to their budgets, once.
      const released = await db.transaction((tx) => releaseRedemptions(tx, input.orderId));
      if (released > 0) logger.info({ orderId: input.orderId, released }, 'promotion uses given back');
      const cartId = await restoreCartLines(db, input.cartId);
      if (cartId) logger.info({ fromCartId: input.cartId, cartId, orderId: input.orderId }, 'cart restored after a failed checkout');
      return { cartId };
    },

    /** Until fulfilment has its own workflow (issue 7), the hand-over is a recorded fact on the order. */
    async handOverToFulfilment(input: { orderId: string }): Promise<void> {
      logger.info({ orderId: input.orderId }, 'order handed over to fulfilment');
    },

    /**
     * The confirmation is queued with the CONFIRMED status itself (`setOrderStatus`); this step stays for
     * the workflows that call it, and queues it only for an order confirmed before that hook existed.
     * Once per order: the dedupe key is the one the status uses.
     */
    async notifyOrderConfirmed(input: { orderId: string }): Promise<{ queued: boolean }> {
      const order = await orderById(db, input.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${input.orderId}`, 'OrderNotFound');
      const queued = await db.transaction((tx) =>
        enqueueOrderEvent(tx, config, {
          orderId: order.id,
          accountId: order.accountId,
          event: 'order_confirmed',
          data: { totalAmount: order.totalAmount, currency: order.currency },
          dedupeKey: orderConfirmedKey(order.id),
        }),
      );
      if (queued) logger.info({ orderId: order.id }, 'order confirmation queued');
      return { queued };
    },
  };
}

export type CheckoutActivities = ReturnType<typeof createCheckoutActivities>;

/**
 * The checkout's public contract: its id, the update the API sends with Update-with-Start, the
 * ops signals, the customer's cancel update and the state query. Importable by workflows and clients.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { OrderStatus } from '../../db/schema/orders';

export const checkoutWorkflowType = 'checkout';
export const checkoutWorkflowId = (prefix: string, cartId: string) => `${prefix}checkout-${cartId}`;
export const cartExpiryWorkflowType = 'cartExpiry';
export const cartExpiryScheduleId = (prefix: string) => `${prefix}cart-expiry`;
export const orderReconciliationWorkflowType = 'orderReconciliation';
export const orderReconciliationScheduleId = (prefix: string) => `${prefix}order-reconciliation`;
export const idempotencyKeyPurgeWorkflowType = 'idempotencyKeyPurge';
export const idempotencyKeyPurgeScheduleId = (prefix: string) => `${prefix}idempotency-key-purge`;

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  postalCode: string;
  city: string;
  region?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  phone?: string;
}

export interface CheckoutInput {
  cartId: string;
  accountId: string;
  /** Where the payment child workflow runs, and the prefix of its id (`<prefix>payment-<orderId>`): the deployment's, passed by the API. */
  paymentTaskQueue: string;
  /**
   * Where the fulfilment child workflow runs (`<prefix>fulfilment-<orderId>`); checkouts started before
   * fulfilment existed lack it, and use `<workflowIdPrefix>fulfilment`, the deployment's naming.
   */
  fulfilmentTaskQueue?: string;
  workflowIdPrefix?: string;
  /** Overrides for tests and ops; defaults below. */
  settings?: Partial<CheckoutSettings>;
}

export interface CheckoutSettings {
  /** Orders at or above this total (minor units) wait for a human fraud decision. */
  fraudReviewThreshold: number;
  fraudReviewTimeoutMs: number;
  /** How long the saga waits for the payment to settle a step before it gives up and compensates. */
  paymentStepTimeoutMs: number;
  /** Reservations outlive the checkout this long if the workflow itself stops (the sweep releases them). */
  reservationTtlSeconds: number;
  /** How long the units of a paid order stay held for fulfilment to ship them. */
  paidHoldMs: number;
}

export const defaultCheckoutSettings: CheckoutSettings = {
  fraudReviewThreshold: 200_000,
  fraudReviewTimeoutMs: 24 * 60 * 60 * 1000,
  paymentStepTimeoutMs: 20 * 60 * 1000,
  reservationTtlSeconds: 2 * 60 * 60,
  paidHoldMs: 30 * 24 * 60 * 60 * 1000,
};

export interface PlaceOrderRequest {
  /**
   * The address sealed by the API (`sealCheckoutAddress`): workflow histories hold personal data only
   * encrypted. Only the country, which pricing and the fraud rule need, travels in clear.
   */
  shippingAddressSealed?: string;
  shippingCountry?: string;
  /** Checkouts accepted before addresses were sealed carried it in clear; their histories still replay. */
  shippingAddress?: ShippingAddress;
  shippingMethod: 'standard' | 'express' | 'pickup';
  /** The provider's card token (`tok_…`): card numbers never reach Comptoir. */
  paymentToken: string;
  /** Country of the billing address, when the shopper gave one: a mismatch with the shipping country is a fraud signal. */
  billingCountry?: string;
}

export type NextAction = { type: 'redirect_to_confirm'; url: string };

export interface PlaceOrderResult {
  orderId: string;
  status: OrderStatus;
  reason?: string;
  totalAmount: number;
  currency: string;
  nextAction?: NextAction;
}

export interface CheckoutState {
  orderId?: string;
  status: OrderStatus;
  reason?: string;
  history: { status: OrderStatus; reason?: string; at: string }[];
}

export const placeOrderUpdate = defineUpdate<PlaceOrderResult, [PlaceOrderRequest]>('placeOrder');
export const cancelOrderUpdate = defineUpdate<CheckoutState, [{ reason?: string }]>('cancelOrder');
export const fraudDecisionSignal = defineSignal<[{ decision: 'approve' | 'reject'; note?: string }]>('fraudDecision');
export const checkoutStateQuery = defineQuery<CheckoutState>('checkoutState');

export const searchAttributeKeys = {
  orderId: defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  orderStatus: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  orderTotal: defineSearchAttributeKey('OrderTotal', SearchAttributeType.INT),
};

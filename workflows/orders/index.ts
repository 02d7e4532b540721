export { checkout } from './checkout';
export { cartExpiry } from './cartExpiry';
export { orderReconciliation } from './orderReconciliation';
export { idempotencyKeyPurge } from './idempotencyKeyPurge';

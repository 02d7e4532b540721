export { checkout } from './checkout';
export { cartExpiry } from './cartExpiry';

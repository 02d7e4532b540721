export { returnAndRefund } from './returnAndRefund';

export { loyaltyAccount } from './loyaltyAccount';

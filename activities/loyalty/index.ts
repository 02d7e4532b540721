export { createLoyaltyLedgerActivities, type LoyaltyLedgerActivities } from './ledger';
export {
  createLoyaltyReportActivities,
  commitRedeemedPoints,
  LoyaltyRedemptionRefused,
  redeemPoints,
  redemptionRefusalOf,
  releaseRedeemedPoints,
  reportOrderDelivered,
  reportOrderRefunded,
  type LoyaltyReportActivities,
  type LoyaltyReportDeps,
} from './report';

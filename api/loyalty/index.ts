export { loyaltyRoutes } from './loyalty';
export { redemptionProblem } from './problems';

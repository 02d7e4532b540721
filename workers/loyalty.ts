// Entry for the loyalty task queue (every customer's loyaltyAccount workflow and its ledger writes).
import { runWorkers } from './run';

await runWorkers(['loyalty']);

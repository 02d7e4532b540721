// Entry for the orders task queue (the checkout saga, pricing, orders, inventory reservations).
import { runWorkers } from './run';

await runWorkers(['orders']);

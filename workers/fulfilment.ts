// Entry for the fulfilment task queue (fulfilment workflows and their carrier calls, returns).
import { runWorkers } from './run';

await runWorkers(['fulfilment']);

// Entry for the marketing task queue (campaign runs started by their Schedules).
import { runWorkers } from './run';

await runWorkers(['marketing']);

// Entry for the payments task queue (payment workflows, provider calls, the webhook inbox sweeper).
import { runWorkers } from './run';

await runWorkers(['payments']);

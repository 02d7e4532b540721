// Entry for the catalog task queue (catalog import, and later search index sync).
import { runWorkers } from './run';

await runWorkers(['catalog']);

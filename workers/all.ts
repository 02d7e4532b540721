// Development entry: every task queue's worker in one process. Production runs one entry per queue.
import { allWorkers, runWorkers } from './run';

await runWorkers(allWorkers);

// Entry for the identity task queue (signing keys, notifications, PII rotation, GDPR erasure).
import { runWorkers } from './run';

await runWorkers(['identity']);

/**
 * `npm run bench`: every benchmark entry, one after the other, each with its own stack (database,
 * Temporal dev server, API and workers) so one's backlog never skews the next. BENCH_TARGETS picks
 * some, comma-separated, in the order given (default `products,checkout`). Exits with the first
 * non-zero code of an entry, after running the others; Ctrl-C reaches the running entry (same process
 * group), which cleans up, and nothing after it starts.
 */
import { spawn } from 'node:child_process';
import { projectRoot } from '../platform/config';

const entries = {
  products: 'bench/products.ts',
  checkout: 'bench/checkout.ts',
} as const;
type Target = keyof typeof entries;

const requested = (process.env.BENCH_TARGETS ?? 'products,checkout')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const unknown = requested.filter((name) => !(name in entries));
if (requested.length === 0 || unknown.length > 0) {
  console.error(`[bench] BENCH_TARGETS must list some of ${Object.keys(entries).join(', ')}; got ${JSON.stringify(process.env.BENCH_TARGETS)}`);
  process.exit(2);
}

let interrupted = false;
let current: ReturnType<typeof spawn> | undefined;
// The terminal's Ctrl-C reaches the entry directly; a SIGTERM sent to this process alone is passed on.
process.on('SIGINT', () => (interrupted = true));
process.on('SIGTERM', () => {
  interrupted = true;
  current?.kill('SIGTERM');
});

let exitCode = 0;
for (const target of requested as Target[]) {
  if (interrupted) break;
  console.log(`[bench] ── ${target} (${entries[target]}) ──`);
  const code = await new Promise<number>((resolve) => {
    current = spawn(process.execPath, ['--import', 'tsx', entries[target]], { cwd: projectRoot, stdio: 'inherit' });
    current.once('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
    current.once('error', (error) => {
      console.error(`[bench] ${target} could not start: ${error.message}`);
      resolve(1);
    });
  });
  current = undefined;
  if (code !== 0) {
    console.error(`[bench] ${target} exited with ${code}`);
    if (exitCode === 0) exitCode = code;
  }
}
process.exit(interrupted && exitCode === 0 ? 130 : exitCode);

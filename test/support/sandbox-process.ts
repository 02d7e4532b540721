/**
 * A sandbox partner (`sandbox/<partner>/server.ts`) as a child process of the test: started on a port it picks
 * itself, awaited until it prints its `{"listening":…}` line, spoken to with its API key, and stopped
 * (SIGTERM, then SIGKILL after 5 s). sandbox-psp.ts and sandbox-carrier.ts add each partner's helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

/** A fresh key or secret per run, so a test never depends on another's. */
export const testSecret = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** What every sandbox takes from a test; each adds its own knobs. */
export interface SandboxStartOptions {
  apiKey?: string;
  /** Several = rotation: each signs a `v1=` entry. */
  webhookSecret?: string | string[];
  webhookUrl?: string;
  /** Any other variable of the sandbox (`SANDBOX_PSP_*`, `SANDBOX_CARRIER_*`). */
  env?: Record<string, string>;
  log?: 'debug' | 'info' | 'error' | 'silent';
}

export interface SandboxProcess {
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
  webhookSecrets: string[];
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** A request with the API key (and JSON body, if given). */
  request(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  stop(): Promise<void>;
}

/** The JSON of a 2xx answer; anything else fails the test with `what`, the status and the body. */
export async function okJson<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface SandboxKind {
  /** `the sandbox carrier`: how start-up failures name it. */
  name: string;
  serverPath: string;
  /** `SANDBOX_CARRIER`: the prefix of every variable it reads. */
  envPrefix: string;
  /** `ck_test`: what a generated API key starts with, as the partner's own keys do. */
  keyPrefix: string;
}

/** Starts the sandbox with `options`, plus `env`: the variables of its own knobs. */
export async function startSandboxProcess(kind: SandboxKind, options: SandboxStartOptions, env: Record<string, string> = {}): Promise<SandboxProcess> {
  const { name, envPrefix } = kind;
  const apiKey = options.apiKey ?? testSecret(kind.keyPrefix);
  const webhookSecrets = [options.webhookSecret ?? testSecret('whsec')].flat();
  const processEnv: NodeJS.ProcessEnv = {
    ...process.env,
    [`${envPrefix}_PORT`]: '0',
    [`${envPrefix}_HOST`]: '127.0.0.1',
    [`${envPrefix}_API_KEY`]: apiKey,
    [`${envPrefix}_WEBHOOK_SECRET`]: webhookSecrets.join(','),
    [`${envPrefix}_LOG`]: options.log ?? 'info',
    ...(options.webhookUrl ? { [`${envPrefix}_WEBHOOK_URL`]: options.webhookUrl } : {}),
    ...env,
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', kind.serverPath], { env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not leave a sandbox behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${output}`)), 30_000);
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{"listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    baseUrl,
    apiKey,
    webhookSecret: webhookSecrets[0]!,
    webhookSecrets,
    process: child,
    output: () => output,
    request: (path, init = {}) =>
      fetch(`${baseUrl}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

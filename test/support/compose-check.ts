// Static validation of docker-compose.yml (no Docker engine needed).
// checkCompose returns a list of human-readable problems; empty means OK.
import { parse } from 'yaml';

export const REQUIRED_SERVICES = [
  'postgres',
  'redis',
  'meilisearch',
  'temporal',
  'temporal-ui',
  'temporal-config',
  'migrate',
  'api',
  'worker',
] as const;

export const APP_SERVICES = ['api', 'worker'] as const;

/** Env vars whose value names another service as host (value kind). */
export const SERVICE_ADDRESS_VARS = {
  DATABASE_URL: 'url',
  REDIS_URL: 'url',
  TEMPORAL_ADDRESS: 'host:port',
  MEILI_HOST: 'url',
} as const;

export const REQUIRED_APP_ENV = [...Object.keys(SERVICE_ADDRESS_VARS), 'TEMPORAL_NAMESPACE'];

export const SECRET_VARS = ['PII_KEYS', 'PII_LOOKUP_KEY', 'WEBHOOK_SIGNING_SECRET'] as const;

export interface CheckOptions {
  /** When given, the Dockerfile of every build is checked to exist (path relative to the compose file). */
  fileExists?: (relativePath: string) => boolean;
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse compose YAML the way Compose does (merge keys `<<: *anchor` enabled). */
export function parseCompose(source: string): unknown {
  return parse(source, { merge: true });
}

/** Normalise `environment` (map or `KEY=value` list) to a map. Keys without a value map to undefined. */
export function environmentOf(service: Dict): Record<string, string | undefined> {
  const env = service.environment;
  const out: Record<string, string | undefined> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq === -1) out[s] = undefined;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isDict(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? undefined : String(v);
  }
  return out;
}

/** Normalise `depends_on` (list or map) to name -> condition (service_started when unspecified). */
export function dependsOn(service: Dict): Record<string, string> {
  const deps = service.depends_on;
  const out: Record<string, string> = {};
  if (Array.isArray(deps)) {
    for (const d of deps) out[String(d)] = 'service_started';
  } else if (isDict(deps)) {
    for (const [name, spec] of Object.entries(deps)) {
      out[name] = isDict(spec) && typeof spec.condition === 'string' ? spec.condition : 'service_started';
    }
  }
  return out;
}

/** Extract the host an address variable points at, or undefined when unparseable. */
export function hostOf(value: string, kind: 'url' | 'host:port'): string | undefined {
  if (value.includes('${')) return undefined; // interpolated: cannot be resolved statically
  if (kind === 'host:port') {
    const m = /^([A-Za-z0-9._-]+):(\d+)$/.exec(value);
    return m?.[1];
  }
  try {
    const host = new URL(value).hostname;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

const SECRET_INTERPOLATION = (name: string) => new RegExp(`^\\$\\{${name}:\\?[^}]*\\}$`);

export function checkCompose(doc: unknown, options: CheckOptions = {}): string[] {
  const problems: string[] = [];
  if (!isDict(doc) || !isDict(doc.services)) return ['compose file has no `services` map'];
  const services = doc.services;
  const names = new Set(Object.keys(services));

  for (const name of REQUIRED_SERVICES) {
    if (!names.has(name)) problems.push(`missing service "${name}"`);
  }

  for (const [name, raw] of Object.entries(services)) {
    if (!isDict(raw)) {
      problems.push(`service "${name}" is not a map`);
      continue;
    }

    for (const target of Object.keys(dependsOn(raw))) {
      if (!names.has(target)) problems.push(`service "${name}" depends_on missing service "${target}"`);
    }

    const env = environmentOf(raw);
    for (const secret of SECRET_VARS) {
      if (!(secret in env)) continue;
      const value = env[secret];
      if (value === undefined || !SECRET_INTERPOLATION(secret).test(value)) {
        problems.push(
          `service "${name}" ${secret} must be a required interpolation \${${secret}:?...}, not a literal value`,
        );
      }
    }

    if (raw.build !== undefined) {
      const build = raw.build;
      let context: string | undefined;
      let dockerfile = 'Dockerfile';
      if (typeof build === 'string') context = build;
      else if (isDict(build)) {
        context = typeof build.context === 'string' ? build.context : '.';
        if (typeof build.dockerfile === 'string') dockerfile = build.dockerfile;
      }
      if (context === undefined) {
        problems.push(`service "${name}" has an invalid build section`);
      } else if (options.fileExists) {
        const path = `${context.replace(/\/+$/, '')}/${dockerfile}`;
        if (!options.fileExists(path)) problems.push(`service "${name}" builds from missing ${path}`);
      }
    }
  }

  for (const name of APP_SERVICES) {
    const svc = services[name];
    if (!isDict(svc)) continue; // already reported as missing

    if (svc.build === undefined) problems.push(`service "${name}" does not reference the Dockerfile build context`);

    const env = environmentOf(svc);
    for (const key of REQUIRED_APP_ENV) {
      const value = env[key];
      if (value === undefined || value.trim() === '') problems.push(`service "${name}" is missing ${key}`);
    }
    for (const [key, kind] of Object.entries(SERVICE_ADDRESS_VARS)) {
      const value = env[key];
      if (value === undefined || value.trim() === '') continue; // reported above
      const host = hostOf(value, kind);
      if (host === undefined) problems.push(`service "${name}" ${key}=${value} has no parseable host`);
      else if (!names.has(host)) problems.push(`service "${name}" ${key} points at "${host}", which is not a service`);
    }
    for (const secret of SECRET_VARS) {
      if (!(secret in env)) problems.push(`service "${name}" is missing ${secret}`);
    }

    const condition = dependsOn(svc).migrate;
    if (condition !== 'service_completed_successfully') {
      problems.push(
        `service "${name}" must depend on migrate with condition service_completed_successfully (got ${condition ?? 'none'})`,
      );
    }
  }

  return problems;
}

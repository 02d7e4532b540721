import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { parsePiiKeyring, PiiError, type PiiKeyring } from './pii';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Secrets the platform needs. In development they are generated once under `.data/`; in production they must be given. */
const secretNames = ['PII_KEYS', 'PII_LOOKUP_KEY', 'WEBHOOK_SIGNING_SECRET'] as const;
type SecretName = (typeof secretNames)[number];

const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/comptoir'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('comptoir:'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('comptoir'),
  TEMPORAL_UI_PORT: port.default(8233),
  TASK_QUEUE_PREFIX: z.string().default(''),
  MEILI_HOST: z.url().optional(),
  MEILI_API_KEY: z.string().optional(),
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: port.default(3000),
  PUBLIC_URL: z.url().optional(),
  WORKER_METRICS_PORT: port.default(9464),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024),
  /** A workflow bundle built ahead of time (`bundleWorkflowCode`): workers start in a second instead of bundling. */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
  IMPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().default('comptoir'),
  DATA_DIR: z.string().default(join(projectRoot, '.data')),
  /** Product images on local disk (default `DATA_DIR/media`); unused when S3_BUCKET is set. */
  MEDIA_DIR: z.string().optional(),
  /** Largest image accepted; below BODY_LIMIT_BYTES so the multipart envelope fits too. */
  MEDIA_MAX_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  /** S3-compatible storage for images; credentials come from the standard AWS environment. */
  S3_BUCKET: z.string().min(3).optional(),
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** Public base URL of the bucket (or its CDN): `/media/{key}` redirects there instead of streaming. */
  S3_PUBLIC_URL: z.url().optional(),
  /** Versioned encryption keys for personal data, `v1:<base64 32 bytes>,v2:…`; the last one encrypts (rotation: append, redeploy, run `npm run identity -- rotate-pii`). */
  PII_KEYS: z.string().min(1).optional(),
  /** Key of the email lookup hash (at least 32 bytes, base64); it cannot be rotated without rehashing every account. */
  PII_LOOKUP_KEY: z.string().min(43).optional(),
  WEBHOOK_SIGNING_SECRET: z.string().min(32).optional(),
  /** The payment provider's API (the sandbox started by `npm start` and the tests, or a real provider's adapter). */
  PAYMENT_PROVIDER_URL: z.url().default('http://127.0.0.1:4010'),
  PAYMENT_PROVIDER_API_KEY: z.string().min(1).default('sk_test_sandbox'),
  PAYMENT_PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** The carrier's API (the sandbox carrier started by `npm start` and the tests, or a real carrier's adapter); its webhooks are signed with WEBHOOK_SIGNING_SECRET. */
  CARRIER_URL: z.url().default('http://127.0.0.1:4020'),
  CARRIER_API_KEY: z.string().min(1).default('ck_test_sandbox'),
  CARRIER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Requests per client address per minute across /v1 (stricter limits on sign-in routes apply too); 0 turns this one off. */
  RATE_LIMIT_API_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /**
   * Checkouts one API process places at once; past it `POST /v1/checkout` answers 503 with Retry-After.
   * Shedding load keeps the checkouts already accepted fast, instead of every shopper waiting until
   * their client gives up (which wastes the work and drags throughput below capacity). 0 = no bound.
   */
  CHECKOUT_MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(64),
  /** Behind one reverse proxy that appends the client address to X-Forwarded-For; off, the header is ignored. */
  TRUST_PROXY: z.stringbool().default(false),
  /** `iss` of the access tokens this platform signs; defaults to PUBLIC_URL, or `comptoir`. */
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).default('comptoir-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** How often the Schedule rotates the signing key. */
  SIGNING_KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Staff single sign-on: an external OpenID Connect issuer whose ID tokens are trusted for staff accounts. */
  STAFF_OIDC_ISSUER: z.url().optional(),
  STAFF_OIDC_JWKS_URL: z.url().optional(),
  /** The client id Comptoir has at that issuer (the ID token's `aud`). */
  STAFF_OIDC_AUDIENCE: z.string().min(1).optional(),
  /**
   * Where email to people goes: `smtp` sends it through SMTP_URL; `log` writes it to the log (development
   * only), `file` drops one JSON file each in NOTIFICATION_DIR (tests, a relay process).
   */
  NOTIFICATION_SINK: z.enum(['log', 'file', 'smtp']).default('log'),
  NOTIFICATION_DIR: z.string().optional(),
  /** `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://…:465`. Holds a password: never logged. */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The sender of every email, `Comptoir <orders@shop.example>`; its domain also names the Message-IDs. */
  SMTP_FROM: z.string().min(3).default('Comptoir <no-reply@comptoir.localhost>'),
  /** How long a message being sent stays claimed: a sender that died is replaced after it, so it must outlast one SMTP exchange. */
  NOTIFICATION_SEND_LEASE_MS: z.coerce.number().int().min(1000).default(120_000),
  /** Wait before the first retry of a failed message; each further failure doubles it, up to 6 hours. */
  NOTIFICATION_RETRY_BASE_MS: z.coerce.number().int().min(0).default(30_000),
  /** The seller printed on invoices and credit notes; the defaults are for development only, set the real ones in production. */
  SELLER_NAME: z.string().min(1).max(200).default('Comptoir SAS (development)'),
  /** Postal address lines separated by `|`. */
  SELLER_ADDRESS: z.string().min(1).max(500).default('1 rue du Comptoir|75001 Paris|France'),
  SELLER_VAT_ID: z.string().min(4).max(20).default('FR00999999999'),
  SELLER_COUNTRY: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code').default('FR'),
  /** Company registration (SIREN, RCS…), printed when set. */
  SELLER_COMPANY_ID: z.string().min(1).max(100).optional(),
  /** Invoice and credit-note numbers are `<prefix>-<year>-<number>`, gap-free per prefix and UTC year. */
  INVOICE_NUMBER_PREFIX: z.string().regex(/^[A-Z][A-Z0-9]{0,11}$/, 'uppercase letters and digits').default('INV'),
  CREDIT_NOTE_NUMBER_PREFIX: z.string().regex(/^[A-Z][A-Z0-9]{0,11}$/, 'uppercase letters and digits').default('CN'),
  /** How long invoices, buyer included, are kept (French commercial law: 10 years). */
  INVOICE_RETENTION_YEARS: z.coerce.number().int().min(1).max(30).default(10),
  /** A campaign run continues as new after this many batches (audience pages and sends), so its history stays small. */
  CAMPAIGN_BATCHES_PER_RUN: z.coerce.number().int().min(1).max(1000).default(200),
  /** Recipients a campaign run adds to its audience snapshot per page. */
  CAMPAIGN_AUDIENCE_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export type Config = Omit<z.infer<typeof envSchema>, SecretName | 'JWT_ISSUER'> & Record<SecretName, string> & {
  JWT_ISSUER: string;
  taskQueues: { catalog: string; identity: string; orders: string; payments: string; fulfilment: string; loyalty: string; marketing: string };
  /** PII_KEYS and PII_LOOKUP_KEY, parsed once. */
  pii: { keyring: PiiKeyring; lookupKey: Buffer };
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function generateSecret(name: SecretName): string {
  if (name === 'PII_KEYS') return `v1:${randomBytes(32).toString('base64')}`;
  if (name === 'PII_LOOKUP_KEY') return randomBytes(32).toString('base64');
  return randomBytes(32).toString('base64url');
}

/** Development secrets live in `.data/secrets.json` (git-ignored), created on first run and reused afterwards. */
function developmentSecrets(dataDir: string): Record<SecretName, string> {
  const file = join(dataDir, 'secrets.json');
  const stored: Partial<Record<SecretName, string>> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  for (const name of secretNames) {
    if (!stored[name]) {
      stored[name] = generateSecret(name);
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
  }
  return stored as Record<SecretName, string>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const values = parsed.data;
  const missing = secretNames.filter((name) => !values[name]);
  let secrets: Partial<Record<SecretName, string>> = {};
  if (missing.length > 0) {
    if (values.NODE_ENV === 'production') {
      throw new ConfigError(
        `Missing secrets in production: ${missing.join(', ')}. Set them in the environment (PII_KEYS as v1:$(openssl rand -base64 32), the others with \`openssl rand -base64 32\`).`,
      );
    }
    secrets = developmentSecrets(values.DATA_DIR);
  }
  const resolved = { ...values } as Record<string, unknown>;
  for (const name of secretNames) resolved[name] = values[name] ?? secrets[name];
  if (values.STAFF_OIDC_ISSUER && !(values.STAFF_OIDC_JWKS_URL && values.STAFF_OIDC_AUDIENCE)) {
    throw new ConfigError('STAFF_OIDC_ISSUER needs STAFF_OIDC_JWKS_URL and STAFF_OIDC_AUDIENCE too');
  }
  if (values.NODE_ENV === 'production' && values.NOTIFICATION_SINK === 'log') {
    // The log sink prints verification and reset links: fine on a laptop, a leak anywhere else.
    throw new ConfigError('NOTIFICATION_SINK=log is for development; set NOTIFICATION_SINK=file (or a real channel) in production');
  }
  if (values.NOTIFICATION_SINK === 'smtp' && !values.SMTP_URL) throw new ConfigError('NOTIFICATION_SINK=smtp needs SMTP_URL');
  // One counter per prefix and year: invoices and credit notes sharing one would leave gaps in both.
  if (values.INVOICE_NUMBER_PREFIX === values.CREDIT_NOTE_NUMBER_PREFIX) throw new ConfigError('INVOICE_NUMBER_PREFIX and CREDIT_NOTE_NUMBER_PREFIX must differ');
  const prefix = values.TASK_QUEUE_PREFIX;
  return {
    ...(resolved as Omit<Config, 'taskQueues' | 'pii' | 'JWT_ISSUER'>),
    JWT_ISSUER: values.JWT_ISSUER ?? values.PUBLIC_URL ?? 'comptoir',
    taskQueues: { catalog: `${prefix}catalog`, identity: `${prefix}identity`, orders: `${prefix}orders`, payments: `${prefix}payments`, fulfilment: `${prefix}fulfilment`, loyalty: `${prefix}loyalty`, marketing: `${prefix}marketing` },
    pii: parsePiiSecrets(resolved.PII_KEYS as string, resolved.PII_LOOKUP_KEY as string),
  };
}

function parsePiiSecrets(keys: string, lookupKey: string): Config['pii'] {
  try {
    const lookup = Buffer.from(lookupKey, 'base64');
    if (lookup.length < 32) throw new PiiError('PII_LOOKUP_KEY must be at least 32 bytes, base64-encoded');
    return { keyring: parsePiiKeyring(keys), lookupKey: lookup };
  } catch (error) {
    if (error instanceof PiiError) throw new ConfigError(`Invalid configuration: ${error.message}`);
    throw error;
  }
}

/** Names whose values must never be printed. */
export const secretConfigKeys: readonly string[] = [...secretNames, 'pii'];

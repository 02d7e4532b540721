import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { checkCompose, parseCompose, SECRET_VARS } from './support/compose-check';

const composeUrl = new URL('../docker-compose.yml', import.meta.url);
const source = readFileSync(composeUrl, 'utf8');
const fileExists = (rel: string) => existsSync(new URL(rel, composeUrl));

type Services = Record<string, Record<string, unknown>>;
const load = () => parseCompose(source) as { services: Services };

test('docker-compose.yml describes a complete, consistent stack', () => {
  assert.deepEqual(checkCompose(load(), { fileExists }), []);
});

test('the app image Dockerfile and .dockerignore exist', () => {
  assert.ok(fileExists('Dockerfile'), 'Dockerfile missing');
  assert.ok(fileExists('.dockerignore'), '.dockerignore missing');
  const dockerfile = readFileSync(new URL('Dockerfile', composeUrl), 'utf8');
  assert.match(dockerfile, /^FROM node:20-bookworm-slim/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER node/m);
});

test('.env.example lists the secrets with empty values', () => {
  const example = readFileSync(new URL('.env.example', composeUrl), 'utf8');
  assert.match(example, /openssl rand -hex 32/);
  for (const name of SECRET_VARS) {
    assert.match(example, new RegExp(`^${name}=$`, 'm'), `${name} should be listed with an empty value`);
  }
});

test('the check reports broken stacks (it can fail)', () => {
  const missingEnv = load();
  delete (missingEnv.services.api!.environment as Record<string, unknown>).DATABASE_URL;
  assert.ok(checkCompose(missingEnv).some((p) => p.includes('"api" is missing DATABASE_URL')));

  const danglingDep = load();
  (danglingDep.services.worker!.depends_on as Record<string, unknown>).elasticsearch = {
    condition: 'service_healthy',
  };
  assert.ok(checkCompose(danglingDep).some((p) => p.includes('missing service "elasticsearch"')));

  const wrongHost = load();
  (wrongHost.services.worker!.environment as Record<string, unknown>).REDIS_URL = 'redis://cache:6379';
  assert.ok(checkCompose(wrongHost).some((p) => p.includes('REDIS_URL points at "cache"')));

  const literalSecret = load();
  (literalSecret.services.api!.environment as Record<string, unknown>).PII_LOOKUP_KEY = 'hunter2';
  assert.ok(checkCompose(literalSecret).some((p) => p.includes('PII_LOOKUP_KEY must be a required interpolation')));

  const startedOnly = load();
  (startedOnly.services.api!.depends_on as Record<string, unknown>).migrate = { condition: 'service_started' };
  assert.ok(checkCompose(startedOnly).some((p) => p.includes('"api" must depend on migrate')));

  const noService = load();
  delete noService.services.meilisearch;
  assert.ok(checkCompose(noService).some((p) => p.includes('missing service "meilisearch"')));

  assert.ok(
    checkCompose(load(), { fileExists: () => false }).some((p) => p.includes('builds from missing ./Dockerfile')),
  );
});

import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { join } from 'node:path';
import * as schema from '../db/schema/index';
import { projectRoot } from './config';

export type Database = PostgresJsDatabase<typeof schema>;
/** A repository function accepts the database or a transaction, so an activity can compose several in one transaction. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface Postgres {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function connectPostgres(url: string, options: { max?: number; applicationName?: string } = {}): Postgres {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'comptoir', TimeZone: 'UTC' },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** Creates the database named in `url` when it does not exist yet (local development and test runs). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const rows = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (rows.length > 0) return false;
    await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const migrationsFolder = join(projectRoot, 'db', 'migrations');

export async function migrateDatabase(url: string): Promise<void> {
  const pg = connectPostgres(url, { max: 1, applicationName: 'comptoir-migrate' });
  try {
    await migrate(pg.db, { migrationsFolder, migrationsSchema: 'ops', migrationsTable: 'migrations' });
  } finally {
    await pg.close();
  }
}

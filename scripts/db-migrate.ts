import { loadConfig } from '../platform/config';
import { ensureDatabase, migrateDatabase } from '../platform/postgres';

const config = loadConfig();
const created = await ensureDatabase(config.DATABASE_URL);
await migrateDatabase(config.DATABASE_URL);
console.log(`${created ? 'created database and ' : ''}applied migrations to ${new URL(config.DATABASE_URL).pathname.slice(1)}`);

/**
 * `npm run identity -- <command> [args]`: identity chores for operators (create staff, partner clients,
 * rotate keys). Each command is a module in scripts/identity/ exporting a default function.
 */
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { loadConfig, projectRoot } from '../platform/config';

const folder = join(projectRoot, 'scripts', 'identity');
const commands = readdirSync(folder).filter((file) => file.endsWith('.ts')).map((file) => file.slice(0, -3)).sort();
const [command, ...args] = process.argv.slice(2);
if (!command || !commands.includes(command)) {
  console.error(`usage: npm run identity -- <command> [args]\ncommands: ${commands.join(', ')}`);
  process.exit(2);
}
const module = (await import(pathToFileURL(join(folder, `${command}.ts`)).href)) as { default: (args: string[], config: ReturnType<typeof loadConfig>) => Promise<void> };
try {
  await module.default(args, loadConfig());
  process.exit(0);
} catch (error) {
  console.error(`${command}: ${(error as Error).message}`);
  process.exit(1);
}

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.js';

// The schema the migrations produce, dumped and checked in (test/schema.sql), so a migration's
// effect is reviewed as a diff and drift is caught by test/schema.test.ts.
// `npm run schema:dump` rewrites the file from the database in DATABASE_URL (migrate it first).
export const SCHEMA_FILE = fileURLToPath(new URL('../test/schema.sql', import.meta.url));

export async function dumpSchema(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', databaseUrl], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('--') && !/^SET |^SELECT pg_catalog\.set_config/.test(l) && !/^\\(un)?restrict /.test(l))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim() + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const schema = await dumpSchema(loadConfig(process.env).databaseUrl);
  const before = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
  await writeFile(SCHEMA_FILE, schema);
  console.error(before === schema ? 'test/schema.sql unchanged' : 'test/schema.sql rewritten: review the diff');
}

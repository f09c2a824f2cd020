import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

// Plain numbered SQL files, applied in order, one transaction each, recorded in a ledger.
// A session-level advisory lock makes concurrent starts (several containers) wait, not race.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 7_251_906_001;

interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[\w-]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(dir + name, 'utf8');
      return { version: Number(name.slice(0, 4)), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now())`;

export async function migrate(client: pg.ClientBase, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readMigrations(dir);
  const applied: string[] = [];
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await client.query(LEDGER);
    const { rows } = await client.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    for (const f of files) {
      const sum = done.get(f.version);
      if (sum !== undefined) {
        if (sum !== f.checksum) throw new Error(`migration ${f.name} was edited after it was applied; add a new migration instead`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(f.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [f.version, f.name, f.checksum]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${f.name} failed: ${(err as Error).message}`);
      }
      applied.push(f.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
  return applied;
}

export class SchemaNotReadyError extends Error {}

/** Api and workers call this at start: they refuse to run on a schema they do not know. */
export async function assertMigrated(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<void> {
  const files = await readMigrations(dir);
  const expected = files.at(-1)?.version ?? 0;
  const { rows } = await pool.query<{ v: number | null }>(
    `SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN NULL
            ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END AS v`,
  );
  const current = rows[0]?.v ?? null;
  if (current === null || current < expected) {
    throw new SchemaNotReadyError(
      `database schema is at ${current ?? 'nothing'} but this build needs ${expected}: run \`npm run migrate\` first`,
    );
  }
  if (current > expected) {
    throw new SchemaNotReadyError(`database schema is at ${current}, newer than this build (${expected}): deploy the newer build`);
  }
}

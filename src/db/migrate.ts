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
  /** A contract step's `-- contract: requires NNNN`: the oldest migration a build may know and still run. */
  requires: number | null;
}

/** A migration's header line that marks it a contract step (docs/deploy.md, "Upgrades"). */
export const CONTRACT_HEADER = /^--\s*contract:\s*requires\s+(\d{1,4})\s*$/i;

export class MigrationFileError extends Error {}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[\w-]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(dir + name, 'utf8');
      const version = Number(name.slice(0, 4));
      return { version, name, sql, checksum: createHash('sha256').update(sql).digest('hex'), requires: contractOf(name, version, sql) };
    }),
  );
}

/**
 * The `-- contract: requires NNNN` among a file's leading comment lines, or null (an expand step).
 * A line that starts `-- contract` but does not parse is refused rather than read as expand-only:
 * a typo must not let builds that still need the old shape keep starting.
 */
function contractOf(name: string, version: number, sql: string): number | null {
  for (const raw of sql.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    if (!/^--\s*contract\b/i.test(line)) continue;
    const m = CONTRACT_HEADER.exec(line);
    if (!m) throw new MigrationFileError(`migration ${name}: "${line}" is not of the form "-- contract: requires NNNN"`);
    const requires = Number(m[1]);
    if (requires < 1 || requires > version) {
      throw new MigrationFileError(`migration ${name}: a contract step can require builds that know 0001 to ${name.slice(0, 4)}, not ${m[1]}`);
    }
    return requires;
  }
  return null;
}

// The ledger's own shape, kept by the migrator rather than by a numbered migration so that it is in
// place before any migration is recorded. `requires` came with contract steps: added to ledgers
// made before them (its last column either way, so fresh and upgraded databases dump alike).
const LEDGER = [
  `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now())`,
  `ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS requires integer`,
];

export async function migrate(client: pg.ClientBase, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readMigrations(dir);
  const applied: string[] = [];
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    for (const ddl of LEDGER) await client.query(ddl);
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
        await client.query('INSERT INTO schema_migrations (version, name, checksum, requires) VALUES ($1, $2, $3, $4)', [f.version, f.name, f.checksum, f.requires]);
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

/**
 * Api and workers call this at start, and the api's /readyz on every probe: a build runs on the
 * schema its migrations make and on any newer one reached by expand steps (which only add), so the
 * previous release keeps running while the next one's migrations are applied and its processes
 * replace the old ones. It refuses a schema older than the build, and a schema on which a contract
 * step was applied that needs a newer build than this one (it dropped or changed what this build
 * still reads).
 */
export async function assertMigrated(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<void> {
  const files = await readMigrations(dir);
  const expected = files.at(-1)?.version ?? 0;
  // to_jsonb reads `requires` whether or not this ledger has the column yet (one made by an
  // earlier migrator, before `npm run migrate` of this build added it).
  const ledger = await pool
    .query<{ current: number | null; name: string | null; requires: number | null }>(
      `SELECT (SELECT max(version) FROM schema_migrations) AS current, c.name, c.requires
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT name, (to_jsonb(m) ->> 'requires')::int AS requires FROM schema_migrations m
                             WHERE (to_jsonb(m) ->> 'requires')::int > $1 ORDER BY version DESC LIMIT 1) AS c ON true`,
      [expected],
    )
    .catch((err: { code?: string }) => {
      if (err.code === '42P01') return null; // undefined_table: never migrated
      throw err;
    });
  const row = ledger?.rows[0];
  const current = row?.current ?? null;
  if (current === null || current < expected) {
    throw new SchemaNotReadyError(
      `database schema is at ${current ?? 'nothing'} but this build needs ${expected}: run \`npm run migrate\` first`,
    );
  }
  if (row?.requires != null) {
    throw new SchemaNotReadyError(
      `database schema is at ${current}, contracted by ${row.name} for builds that know migration ${pad(row.requires)} or newer; ` +
        `this build knows up to ${pad(expected)}: deploy a newer build`,
    );
  }
}

const pad = (v: number) => String(v).padStart(4, '0');

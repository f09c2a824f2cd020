import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMigrated, migrate, MigrationFileError, MIGRATIONS_DIR, readMigrations, SchemaNotReadyError } from '../../src/db/migrate.js';
import { startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Expand/contract (docs/deploy.md, "Upgrades"): a build runs on its own schema and on any newer one
// reached by expand steps, and refuses an older schema or one a contract step made for newer builds.
// "This build" is the checkout's migrations; "the next release" is a copy of them with more files.

let env: TestEnv;
const dirs: string[] = [];
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The checkout's migrations plus `extra` (file name → SQL): a later release's migrations directory. */
function release(extra: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-migrations-'));
  dirs.push(dir);
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) writeFileSync(path.join(dir, name), sql);
  return `${dir}/`;
}

async function migrateWith(dir: string) {
  const c = new pg.Client({ connectionString: env.env.DATABASE_URL });
  await c.connect();
  try {
    return await migrate(c, dir);
  } finally {
    await c.end();
  }
}

const latest = async () => (await readMigrations()).at(-1)!.version;
const refusal = (p: Promise<unknown>) => p.then(() => null, (e: Error) => e);

const EXPAND = { '0900_expand.sql': '-- expand: a table and a nullable column the current build ignores\nCREATE TABLE upgrade_probe (id int PRIMARY KEY);\nALTER TABLE jobs ADD COLUMN upgrade_probe_note text;\n' };
// A contract step alone (nothing to drop): requires 0900, so this checkout's build is too old for it.
const CONTRACT_ONLY = { '0900_expand.sql': 'SELECT 1;\n', '0901_contract.sql': '-- contract: requires 0900\nSELECT 1;\n' };
const CONTRACT = { '0901_contract.sql': '-- Drops what builds before 0900 still wrote.\n-- contract: requires 0900\nALTER TABLE jobs DROP COLUMN upgrade_probe_note;\n' };

describe('readMigrations', () => {
  it('reads a contract step\'s requirement from its leading comments; other files are expand steps', async () => {
    const dir = release({ ...EXPAND, ...CONTRACT });
    const files = await readMigrations(dir);
    expect(files.find((f) => f.version === 900)?.requires).toBeNull();
    expect(files.find((f) => f.version === 901)?.requires).toBe(900);
    expect(files.filter((f) => f.requires !== null).map((f) => f.name)).toEqual(['0901_contract.sql']);
  });

  it('refuses a contract line it cannot read, and a requirement past the step itself', async () => {
    const typo = release({ '0902_typo.sql': '-- contract: needs 0900\nSELECT 1;\n' });
    await expect(readMigrations(typo)).rejects.toThrow(MigrationFileError);
    await expect(readMigrations(typo)).rejects.toThrow(/0902_typo\.sql: "-- contract: needs 0900" is not of the form "-- contract: requires NNNN"/);
    const ahead = release({ '0902_ahead.sql': '-- contract: requires 0950\nSELECT 1;\n' });
    await expect(readMigrations(ahead)).rejects.toThrow(/0902_ahead\.sql: a contract step can require builds that know 0001 to 0902, not 0950/);
  });

  it('reads only the leading comments: a "-- contract:" line after the first statement is a comment like any other', async () => {
    const files = await readMigrations(release({ '0902_late.sql': 'SELECT 1;\n-- contract: requires 0900\n' }));
    expect(files.at(-1)?.requires).toBeNull();
  });
});

describe('assertMigrated', () => {
  // One database, taken forward step by step as a rolling upgrade would: each `it` builds on the last.
  it('accepts the schema its own migrations made', async () => {
    await expect(assertMigrated(env.pool)).resolves.toBeUndefined();
  });

  it('accepts a newer schema reached by expand steps only (the previous release keeps running while the next migrates)', async () => {
    expect(await migrateWith(release(EXPAND))).toEqual(['0900_expand.sql']);
    await expect(assertMigrated(env.pool)).resolves.toBeUndefined();
    const { rows } = await env.pool.query('SELECT version, requires FROM schema_migrations WHERE version >= 900');
    expect(rows).toEqual([{ version: 900, requires: null }]);
  });

  it('refuses a schema a contract step made for newer builds, saying which step and which build it needs', async () => {
    expect(await migrateWith(release({ ...EXPAND, ...CONTRACT }))).toEqual(['0901_contract.sql']);
    const { rows } = await env.pool.query('SELECT requires FROM schema_migrations WHERE version = 901');
    expect(rows).toEqual([{ requires: 900 }]);
    const err = await refusal(assertMigrated(env.pool));
    expect(err).toBeInstanceOf(SchemaNotReadyError);
    const mine = String(await latest()).padStart(4, '0');
    expect(err?.message).toBe(
      `database schema is at 901, contracted by 0901_contract.sql for builds that know migration 0900 or newer; this build knows up to ${mine}: deploy a newer build`,
    );
    // Builds that know the step it requires still run: the release that made 0900, and the one that made 0901.
    await expect(assertMigrated(env.pool, release(EXPAND))).resolves.toBeUndefined();
    await expect(assertMigrated(env.pool, release({ ...EXPAND, ...CONTRACT }))).resolves.toBeUndefined();
  });

  it('refuses a schema older than the build: the next release before its migrations ran', async () => {
    const next = release({ ...EXPAND, ...CONTRACT, '0902_more.sql': 'SELECT 1;\n' });
    const err = await refusal(assertMigrated(env.pool, next));
    expect(err).toBeInstanceOf(SchemaNotReadyError);
    expect(err?.message).toBe('database schema is at 901 but this build needs 902: run `npm run migrate` first');
  });

  it('refuses a database never migrated, as a schema error rather than a missing table', async () => {
    // An empty schema first on the search path stands for a new database (cheaper than creating one).
    await env.pool.query('CREATE SCHEMA never_migrated');
    const pool = new pg.Pool({ connectionString: env.env.DATABASE_URL, max: 1, options: '-c search_path=never_migrated' });
    try {
      const err = await refusal(assertMigrated(pool));
      expect(err).toBeInstanceOf(SchemaNotReadyError);
      expect(err?.message).toBe(`database schema is at nothing but this build needs ${await latest()}: run \`npm run migrate\` first`);
    } finally {
      await pool.end();
    }
  });
});

describe('a ledger made by the migrator of a release before contract steps', () => {
  let old: TestEnv;
  beforeAll(async () => {
    old = await createTestEnv();
    await old.pool.query('ALTER TABLE schema_migrations DROP COLUMN requires');
  });
  afterAll(async () => old?.close());

  it('is read as expand-only by this build, and the migrator adds the column before it records a step', async () => {
    await expect(assertMigrated(old.pool)).resolves.toBeUndefined();
    const c = new pg.Client({ connectionString: old.env.DATABASE_URL });
    await c.connect();
    try {
      expect(await migrate(c, release(CONTRACT_ONLY))).toEqual(['0900_expand.sql', '0901_contract.sql']);
    } finally {
      await c.end();
    }
    const { rows } = await old.pool.query('SELECT version, requires FROM schema_migrations WHERE version > 900');
    expect(rows).toEqual([{ version: 901, requires: 900 }]);
    await expect(assertMigrated(old.pool)).rejects.toThrow(/contracted by 0901_contract\.sql/);
  });
});

describe('/readyz follows the same rule', () => {
  let db: TestEnv;
  let api: Awaited<ReturnType<typeof startInProcessApi>>;
  beforeAll(async () => {
    db = await createTestEnv();
    api = await startInProcessApi(db.config);
  });
  afterAll(async () => {
    await api?.close();
    await db?.close();
  });

  const migrateDb = async (dir: string) => {
    const c = new pg.Client({ connectionString: db.env.DATABASE_URL });
    await c.connect();
    await migrate(c, dir).finally(() => c.end());
  };

  it('stays ready while a newer release expands the schema, and turns unready with the reason once a contract step needs a newer build', async () => {
    await migrateDb(release({ '0900_expand.sql': 'CREATE TABLE upgrade_probe (id int);\n' }));
    let res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(200);
    await migrateDb(release({ '0900_expand.sql': 'CREATE TABLE upgrade_probe (id int);\n', '0901_contract.sql': '-- contract: requires 0900\nDROP TABLE upgrade_probe;\n' }));
    res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(body.checks.postgres).toMatch(/^database schema is at 901, contracted by 0901_contract\.sql for builds that know migration 0900 or newer/);
  });
});

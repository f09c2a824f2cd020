import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dumpSchema, SCHEMA_FILE } from '../scripts/schema.js';
import { createTestEnv, type TestEnv } from './helpers/env.js';

// The database the migrations build must be the one checked in: a migration edited after the
// fact, or a table changed by hand in a migration's absence, shows up here as a diff.
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

it('the migrated schema equals test/schema.sql (npm run migrate && npm run schema:dump to update it)', async () => {
  const actual = await dumpSchema(env.env.DATABASE_URL);
  expect(actual).toBe(await readFile(SCHEMA_FILE, 'utf8'));
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../scripts/openapi.js';

// The client's types are generated from the OpenAPI document and committed
// (src/client/generated/api.d.ts). A route or schema changed without regenerating them fails
// here: run `npm run client:types` and commit the result.

const ROOT = path.resolve(import.meta.dirname, '../..');

it('src/client/generated/api.d.ts is what openapi-typescript makes of the current document', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-types-'));
  try {
    const doc = path.join(dir, 'openapi.json');
    const out = path.join(dir, 'api.d.ts');
    writeFileSync(doc, JSON.stringify(buildOpenApiDocument(), null, 2) + '\n');
    // The same program and options as `npm run client:types`.
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), doc, '-o', out], { cwd: ROOT });
    const committed = readFileSync(path.join(ROOT, 'src/client/generated/api.d.ts'), 'utf8');
    expect(committed === readFileSync(out, 'utf8'), 'src/client/generated/api.d.ts is stale: run `npm run client:types` and commit it').toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { parseArgs } from 'node:util';
import { SCOPES, type Scope } from '../src/auth/keys.js';
import { createKey } from '../src/auth/tenants.js';
import { loadConfig } from '../src/config.js';
import { assertMigrated } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';

// npm run keys -- create --tenant NAME [--scopes jobs:read,jobs:write]   prints only the new key on stdout
// npm run keys -- list --tenant NAME
// npm run keys -- revoke --id KEY_ID
const usage = 'usage: npm run keys -- create --tenant NAME [--scopes a,b] | list --tenant NAME | revoke --id KEY_ID';
const { positionals, values } = parseArgs({ allowPositionals: true, options: { tenant: { type: 'string' }, scopes: { type: 'string' }, id: { type: 'string' } } });
const config = loadConfig(process.env);
const pool = createPool(config, 2);
try {
  await assertMigrated(pool);
  const [cmd] = positionals;
  if (cmd === 'create' && values.tenant) {
    const scopes = (values.scopes?.split(',').map((s) => s.trim()) ?? [...SCOPES]) as Scope[];
    const bad = scopes.filter((s) => !SCOPES.includes(s));
    if (bad.length) throw new Error(`unknown scope(s) ${bad.join(', ')}; scopes are ${SCOPES.join(', ')}`);
    const { key, id } = await createKey(pool, values.tenant, scopes);
    console.error(`created key ${id} for tenant "${values.tenant}" with scopes ${scopes.join(', ')}; it is shown only now:`);
    console.log(key);
  } else if (cmd === 'list' && values.tenant) {
    const { rows } = await pool.query(
      `SELECT k.id, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.name = $1 ORDER BY k.created_at`,
      [values.tenant],
    );
    console.log(JSON.stringify(rows, null, 2));
  } else if (cmd === 'revoke' && values.id) {
    const r = await pool.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [values.id]);
    if (!r.rowCount) throw new Error(`no active key ${values.id}`);
    console.error(`revoked ${values.id}`);
  } else {
    throw new Error(usage);
  }
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await pool.end();
}

import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { SCOPES, type Scope } from '../src/auth/keys.js';
import { createKey, listKeys, revokeKey, type Actor } from '../src/auth/tenants.js';
import { loadConfig } from '../src/config.js';
import { assertMigrated } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';

// npm run keys -- create --tenant NAME [--scopes jobs:read,jobs:write] [--name LABEL]   prints only the new key on stdout
// npm run keys -- list --tenant NAME        prefix, scopes, created, last used, revoked (JSON); never the key
// npm run keys -- revoke --id KEY_ID        the key fails from its next request on
// Every create and revoke is written to the audit log with the operator's OS user as the actor.
const usage = 'usage: npm run keys -- create --tenant NAME [--scopes a,b] [--name LABEL] | list --tenant NAME | revoke --id KEY_ID';
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tenant: { type: 'string' }, scopes: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' } },
});
const config = loadConfig(process.env);
const pool = createPool(config, 2);
const actor: Actor = { actorType: 'cli', actor: safeUser(), ip: null, requestId: null };
try {
  await assertMigrated(pool);
  const [cmd] = positionals;
  if (cmd === 'create' && values.tenant) {
    const scopes = (values.scopes?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...SCOPES]) as Scope[];
    const bad = scopes.filter((s) => !SCOPES.includes(s));
    if (bad.length || !scopes.length) throw new Error(`unknown scope(s) ${bad.join(', ')}; scopes are ${SCOPES.join(', ')}`);
    const { key, id } = await createKey(pool, values.tenant, scopes, { name: values.name ?? null, actor });
    console.error(`created key ${id} for tenant "${values.tenant}" with scopes ${scopes.join(', ')}; it is shown only now:`);
    console.log(key);
  } else if (cmd === 'list' && values.tenant) {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM tenants WHERE name = $1`, [values.tenant]);
    if (!rows[0]) throw new Error(`no tenant "${values.tenant}"`);
    console.log(JSON.stringify(await listKeys(pool, rows[0].id), null, 2));
  } else if (cmd === 'revoke' && values.id) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.id)) throw new Error(`"${values.id}" is not a key id (a UUID; see \`list\`)`);
    const k = await revokeKey(pool, values.id, { tenantId: null, actor });
    if (!k) throw new Error(`no key ${values.id}`);
    console.error(`revoked ${values.id} (${k.prefix}…) at ${k.revoked_at!.toISOString()}`);
  } else {
    throw new Error(usage);
  }
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await pool.end();
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { SCOPES, type Scope } from '../src/auth/keys.js';
import { createKey, revokeKey, type Actor } from '../src/auth/tenants.js';
import { loadConfig } from '../src/config.js';
import { findTenantId } from '../src/db/findTenantId.js';
import { listKeys } from '../src/db/listKeys.js';
import { assertMigrated } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';

// The operator's key tool. Every create and revoke is written to the audit log with the operator's
// OS user as the actor. A new key gets only the scopes to submit jobs and read them and the
// models unless --scopes says otherwise: admin (which implies every scope) is never a default.
// Errors print one line on stderr and exit 1; help exits 0.
const DEFAULT_SCOPES: readonly Scope[] = ['jobs:write', 'jobs:read', 'models:read'];

const USAGE = `usage: npm run keys -- <command> [options]

commands:
  create --tenant NAME [--scopes a,b,...] [--name LABEL]
      Creates a key for the tenant (the tenant is created when new) and prints only the key on
      stdout; it is shown only then. --scopes is a comma-separated list of
        ${SCOPES.join(', ')}
      (admin implies all the others); without it the key gets ${DEFAULT_SCOPES.join(',')}.
      A tenant may have at most MAX_KEYS_PER_TENANT unrevoked keys.
  list --tenant NAME
      The tenant's keys as JSON: id, name, prefix, scopes, created, last used, revoked. Never the key.
  revoke --id KEY_ID
      The key fails from its next request on.
  help
      This text (also --help / -h, and after a command).

examples:
  npm run keys -- create --tenant acme --name ci
  npm run keys -- create --tenant acme --scopes admin --name ops
  npm run keys -- revoke --id 0b6f…`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { tenant: { type: 'string' }, scopes: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { positionals, values } = parsed;
  const [cmd, ...extra] = positionals;
  if (values.help || cmd === 'help' || cmd === undefined) {
    if (cmd === undefined && !values.help) throw new UsageError('name a command: create, list, revoke or help');
    console.log(USAGE);
    return;
  }
  if (extra.length) throw new UsageError(`unexpected argument(s) ${extra.join(' ')}`);
  const need = (v: string | undefined, flag: string) => {
    if (!v) throw new UsageError(`${cmd} needs ${flag}`);
    return v;
  };
  if (cmd === 'create') {
    const tenant = need(values.tenant, '--tenant NAME');
    const scopes = values.scopes === undefined ? [...DEFAULT_SCOPES] : parseScopes(values.scopes);
    await withPool(async (pool, config) => {
      const { key, id } = await createKey(pool, tenant, scopes, { name: values.name ?? null, actor: cliActor(), maxKeys: config.security.maxKeysPerTenant });
      console.error(`created key ${id} for tenant "${tenant}" with scopes ${scopes.join(', ')}; it is shown only now:`);
      console.log(key);
    });
  } else if (cmd === 'list') {
    const tenant = need(values.tenant, '--tenant NAME');
    await withPool(async (pool) => {
      const tenantId = await findTenantId(pool, tenant);
      if (!tenantId) throw new Error(`no tenant "${tenant}"`);
      console.log(JSON.stringify(await listKeys(pool, tenantId), null, 2));
    });
  } else if (cmd === 'revoke') {
    const id = need(values.id, '--id KEY_ID');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error(`"${id}" is not a key id (a UUID; see \`list\`)`);
    await withPool(async (pool) => {
      const k = await revokeKey(pool, id, { tenantId: null, actor: cliActor() });
      if (!k) throw new Error(`no key ${id}`);
      console.error(`revoked ${id} (${k.prefix}…) at ${k.revoked_at!.toISOString()}`);
    });
  } else {
    throw new UsageError(`unknown command "${cmd}"`);
  }
}

function parseScopes(list: string): Scope[] {
  const scopes = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length) throw new UsageError(`unknown scope(s) ${bad.join(', ')}; scopes are ${SCOPES.join(', ')}`);
  if (!scopes.length) throw new UsageError(`--scopes needs at least one of ${SCOPES.join(', ')}`);
  return scopes as Scope[];
}

async function withPool(run: (pool: pg.Pool, config: ReturnType<typeof loadConfig>) => Promise<void>): Promise<void> {
  const config = loadConfig(process.env);
  const pool = createPool(config, 2);
  try {
    await assertMigrated(pool);
    await run(pool, config);
  } finally {
    await pool.end().catch(() => {});
  }
}

function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username || 'unknown';
  } catch {
    /* no passwd entry: keep "unknown" */
  }
  return { actorType: 'cli', actor: user, ip: null, requestId: null };
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  // One line: the message, never a stack trace (a configuration error lists its settings on one line too).
  const message = String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
  console.error(`keys: ${message}${err instanceof UsageError ? ' (npm run keys -- --help)' : ''}`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}

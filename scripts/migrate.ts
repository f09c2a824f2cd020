import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { encryptClearSecrets } from '../src/webhooks/encryptClearSecrets.js';
import { SecretCipher } from '../src/webhooks/secretCipher.js';

// npm run migrate [-- --encrypt-secrets]: apply the SQL migrations; with --encrypt-secrets, then
// encrypt the webhook secrets still stored in clear and null the plaintext (migrations/0012). Run
// that step only once every api and worker runs this release (docs/webhooks.md, "Upgrading to
// encrypted secrets"); it is idempotent.
const config = loadConfig(process.env);
const encryptSecrets = process.argv.includes('--encrypt-secrets');
const url = new URL(config.databaseUrl);
const dbName = decodeURIComponent(url.pathname.slice(1));

// Create the database when it does not exist yet, so a fresh machine needs only this command.
const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
  if (e.code !== '42P04') throw e; // created by a concurrent migrate
});
await admin.end();

const client = new pg.Client({ connectionString: config.databaseUrl });
await client.connect();
try {
  const applied = await migrate(client);
  console.error(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
} finally {
  await client.end();
}

if (encryptSecrets) {
  if (config.secrets.source === 'development') console.error('warning: SECRETS_KEY is not set; encrypting with the fixed development key');
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  try {
    const r = await encryptClearSecrets(pool, SecretCipher.fromConfig(config));
    console.error(`webhook secrets encrypted: ${r.encrypted}${r.skipped ? `; ${r.skipped} changed meanwhile, run again to finish them` : ''}`);
  } finally {
    await pool.end();
  }
}

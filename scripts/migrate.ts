import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';

const config = loadConfig(process.env);
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

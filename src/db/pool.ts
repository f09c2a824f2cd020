import pg from 'pg';
import type { Config } from '../config.js';

// bigint columns (row counts) fit in a JS number for any realistic job; parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(config: Pick<Config, 'databaseUrl'>, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max, connectionTimeoutMillis: 5000 });
  // A client losing its connection (Postgres restart, admin shutdown) emits 'error'; with no
  // listener that would crash the process. pg-pool listens only while a client is idle, so each
  // client gets a listener of its own for the time it is checked out: the failure still reaches
  // the query in flight (it rejects), and pg-pool discards the broken client on release.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// A Postgres restart cuts every session, including those of clients checked out between queries
// (a transaction being assembled, a session-level lock held). node-postgres reports that as an
// 'error' event on the client; unheard, it would end the process (vitest fails the file on it).

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

describe('the process pool', () => {
  it('survives the server ending the session of a checked-out client, and hands out a working one after', async () => {
    const pool = createPool(env.config, 2);
    try {
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Waiting on 'end', not 'error' (events.once would listen for 'error' too): a listener of
      // the test's own would hide a missing one.
      const ended = new Promise((resolve) => client.once('end', resolve));
      await env.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      await ended;
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      const again = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0].pid).not.toBe(rows[0].pid);
    } finally {
      await pool.end();
    }
  });
});

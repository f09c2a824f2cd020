import type pg from 'pg';

/** A `SELECT 1`: finds a connection that died without telling us (the LISTEN connection's ping). */
export async function pingConnection(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT 1');
}

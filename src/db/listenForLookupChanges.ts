import type pg from 'pg';

/**
 * Starts LISTENing on `channel` on a dedicated connection (src/http/lookupListener.ts holds it;
 * migrations/0006_lookup_notify.sql notifies) and returns the connection's backend pid, which
 * tests terminate to cut it. `channel` is an identifier written by us, never user input.
 */
export async function listenForLookupChanges(client: pg.ClientBase, channel: string): Promise<number> {
  await client.query(`LISTEN ${channel}`);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

import type pg from 'pg';

/**
 * Takes the session-level advisory lock `key` on this connection if no other session holds it,
 * without waiting: true when taken. It is held until advisoryUnlock or the connection ends, so the
 * caller keeps one checked-out client for the whole locked section.
 */
export async function tryAdvisoryLock(client: pg.ClientBase, key: number): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
  return rows[0].ok;
}

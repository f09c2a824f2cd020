import type pg from 'pg';

/** Releases a session-level advisory lock this connection took (tryAdvisoryLock). */
export async function advisoryUnlock(client: pg.ClientBase, key: number): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1)', [key]);
}

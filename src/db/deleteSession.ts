import type pg from 'pg';

/** Ends a session (sign-out, or found expired): its cookie finds nothing from now on. True when it existed. */
export async function deleteSession(db: pg.Pool | pg.ClientBase, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM dashboard_sessions WHERE id = $1`, [id]);
  return (rowCount ?? 0) > 0;
}

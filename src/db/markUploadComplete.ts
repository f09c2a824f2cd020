import type pg from 'pg';

/** The last byte of the upload is stored: from now on the job may complete (see impliedStatusSql). */
export async function markUploadComplete(client: pg.ClientBase, jobId: string): Promise<void> {
  await client.query(`UPDATE jobs SET upload_complete = true, progressed_at = now() WHERE id = $1 AND status = 'receiving'`, [jobId]);
}

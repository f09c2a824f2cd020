import type pg from 'pg';

/**
 * The last byte of the upload is stored: from now on the job may complete (see impliedStatusSql).
 * `bodyDigest` (kept when the upload came with an idempotency key) is what a replay is compared with.
 */
export async function markUploadComplete(client: pg.ClientBase, jobId: string, bodyDigest: string | null): Promise<void> {
  await client.query(`UPDATE jobs SET upload_complete = true, progressed_at = now(), body_digest = $2 WHERE id = $1 AND status = 'receiving'`, [jobId, bodyDigest]);
}

import type pg from 'pg';

// The outbox's write for job.progress: called inside the transaction that finishes a chunk of an
// unfinished job, after the job's counters were updated (that update's row lock orders concurrent
// chunks, so the throttle below sees the delivery a concurrent chunk just wrote). One indexed query:
// nothing is written unless an enabled endpoint subscribes to job.progress and has had none for this
// job within `intervalMs`. The caller builds the payload and the message id.
export async function insertProgressEvents(
  db: pg.Pool | pg.ClientBase,
  e: { tenantId: string; jobId: string; messageId: string; payload: unknown; intervalMs: number },
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (tenant_id, job_id, destination, endpoint_id, url, message_id, event_type, payload)
     SELECT $1, $2, 'endpoint', e.id, e.url, $3, 'job.progress', $4
       FROM webhook_endpoints e
      WHERE e.tenant_id = $1 AND e.disabled_at IS NULL AND 'job.progress' = ANY (e.events)
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND d.job_id = $2 AND d.event_type = 'job.progress'
             AND d.created_at > now() - make_interval(secs => $5::double precision / 1000))
     RETURNING id`,
    [e.tenantId, e.jobId, e.messageId, JSON.stringify(e.payload), e.intervalMs],
  );
  return rows.map((r) => r.id);
}

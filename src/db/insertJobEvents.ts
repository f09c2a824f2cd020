import type pg from 'pg';

// The outbox's write for job ends: called inside the transaction that ends the jobs, so a committed
// end always has its webhooks owed and a rolled-back one never does. One statement for any number of
// jobs (the small jobs a group commit ends together): a delivery to each job's callback_url and one
// to each enabled endpoint of the tenant subscribed to the event. Idempotent per job end (the
// partial unique index on deliveries other than job.progress). The caller builds the payloads and
// message ids. A tenant's default secret (for callback deliveries) is made by the delivery worker on first use.

export interface JobEventInput {
  tenant_id: string;
  job_id: string;
  callback_url: string | null;
  type: string;
  /** The webhook-id, shared by all destinations of this event. */
  message_id: string;
  payload: unknown;
}

const JOB_EVENTS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, job_id uuid, callback_url text, type text, message_id text, payload jsonb)
), dest AS (
  SELECT i.*, 'callback'::text AS destination, NULL::uuid AS endpoint_id, i.callback_url AS url FROM input i WHERE i.callback_url IS NOT NULL
  UNION ALL
  SELECT i.*, 'endpoint', e.id, e.url FROM input i
    JOIN webhook_endpoints e ON e.tenant_id = i.tenant_id AND e.disabled_at IS NULL AND i.type = ANY (e.events)
)
INSERT INTO webhook_deliveries (tenant_id, job_id, destination, endpoint_id, url, message_id, event_type, payload)
SELECT tenant_id, job_id, destination, endpoint_id, url, message_id, type, payload FROM dest
ON CONFLICT (job_id, event_type, destination, coalesce(endpoint_id, '00000000-0000-0000-0000-000000000000'::uuid))
  WHERE event_type <> 'job.progress' DO NOTHING
RETURNING id, job_id`;

/** The new deliveries' ids with their job's (none for an event already recorded). */
export async function insertJobEvents(db: pg.Pool | pg.ClientBase, input: JobEventInput[]): Promise<{ id: string; job_id: string }[]> {
  const { rows } = await db.query<{ id: string; job_id: string }>({ name: 'sluice_job_events', text: JOB_EVENTS_SQL, values: [JSON.stringify(input)] });
  return rows;
}

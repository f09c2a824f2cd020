import type { Config } from '../config.js';
import type { z } from 'zod';
import type { JobRow } from '../db/jobRow.js';
import type { Job } from '../http/schemas.js';
import { progressView } from './progress.js';

// The job as the API shows it: GET /v1/jobs/{id}, job lists, and webhook payloads all use this.
/** What a view needs beyond the row: the base of its links and how long retention keeps a finished job. */
export interface ViewContext {
  /** PUBLIC_URL, or '' to use the base of the request that created the job. */
  baseUrl: string;
  /** RETENTION_TTL_HOURS: a finished job and its results are deleted this long after it finished. */
  retentionTtlHours?: number;
}

export const viewContext = (config: Pick<Config, 'publicUrl' | 'worker'>): ViewContext => ({ baseUrl: config.publicUrl ?? '', retentionTtlHours: config.worker.retentionTtlHours });

/** Typed by the Job schema that /openapi.json documents (src/http/schemas.ts). */
export function jobView(j: JobRow, view: ViewContext = { baseUrl: '' }): z.output<typeof Job> {
  const { baseUrl, retentionTtlHours } = view;
  // PUBLIC_URL when set; else the base of the request that created the job, so a webhook sent by a
  // worker (which knows no host of its own) still carries links a receiver can follow.
  const self = `${baseUrl || j.base_url || ''}/v1/jobs/${j.id}`;
  return {
    id: j.id,
    object: 'job' as const,
    kind: j.kind,
    status: j.status,
    model: { name: j.model_name, version: j.model_version },
    rows: { total: j.upload_complete ? j.rows_total : null, received: j.rows_total, succeeded: j.rows_succeeded, failed: j.rows_failed },
    progress: progressView(j),
    error: j.error_code ? { code: j.error_code, message: j.error_message } : null,
    // The most frequent kinds of row error, where the caller read them (one job's view, its end's webhook).
    ...(j.errors ? { errors: j.errors } : {}),
    callback_url: j.callback_url,
    created_at: j.created_at.toISOString(),
    started_at: j.started_at?.toISOString() ?? null,
    finished_at: j.finished_at?.toISOString() ?? null,
    expires_at: j.finished_at && retentionTtlHours !== undefined ? new Date(j.finished_at.getTime() + retentionTtlHours * 3_600_000).toISOString() : null,
    duration_ms: j.finished_at ? j.finished_at.getTime() - j.created_at.getTime() : null,
    links: { self, results: `${self}/results`, deliveries: `${self}/deliveries`, cancel: `${self}/cancel` },
    ...lifecycleView(j, baseUrl || j.base_url || ''),
  };
}

/** Evaluation, compare, retry and routing fields (migrations/0014), present only on the jobs they concern. */
function lifecycleView(j: JobRow, base: string): Partial<z.output<typeof Job>> {
  const out: Partial<z.output<typeof Job>> = {};
  if (j.label_column !== null) {
    out.label_column = j.label_column;
    out.dataset_sha256 = j.dataset_digest;
    out.evaluation = (j.evaluation ?? null) as z.output<typeof Job>['evaluation'];
    out.record_evaluation = j.record_evaluation;
  }
  if (j.compare_model) {
    out.compare = {
      model: j.compare_model,
      ...(j.label_column !== null ? { evaluation: (j.compare_evaluation ?? null) as NonNullable<z.output<typeof Job>['compare']>['evaluation'] } : {}),
      agreement: (j.agreement ?? null) as NonNullable<z.output<typeof Job>['compare']>['agreement'],
    };
  }
  if (j.retry_of) {
    out.retry_of = j.retry_of;
    out.retry_of_url = `${base}/v1/jobs/${j.retry_of}`;
  }
  if (j.routing) out.routing = j.routing as z.output<typeof Job>['routing'];
  return out;
}


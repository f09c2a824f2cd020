// A job's progress as every consumer wants it, whichever shape the server sends: the bare
// fraction of earlier servers, or the object with rate and ETA (`{fraction, rows_done, rows_total,
// rate_rows_per_second, eta_seconds, started_at, updated_at}`). Rate and ETA are null when the
// server does not say; the CLI then estimates them from what it sees.

export interface JobProgress {
  /** 0..1, null until the upload is read whole (the total is unknown). */
  fraction: number | null;
  rowsDone: number;
  rowsTotal: number | null;
  rowsFailed: number;
  ratePerSecond: number | null;
  etaSeconds: number | null;
}

interface ProgressSource {
  progress?: unknown;
  rows: { total: number | null; received: number; succeeded: number; failed: number };
}

export function jobProgress(job: ProgressSource): JobProgress {
  const rowsFailed = job.rows.failed;
  const counted = job.rows.succeeded + job.rows.failed;
  const p = job.progress;
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const rowsTotal = num(o.rows_total) ?? job.rows.total;
    const rowsDone = num(o.rows_done) ?? counted;
    return {
      fraction: num(o.fraction) ?? (rowsTotal ? rowsDone / rowsTotal : null),
      rowsDone,
      rowsTotal,
      rowsFailed,
      ratePerSecond: num(o.rate_rows_per_second),
      etaSeconds: num(o.eta_seconds),
    };
  }
  return {
    fraction: typeof p === 'number' ? p : null,
    rowsDone: counted,
    rowsTotal: job.rows.total,
    rowsFailed,
    ratePerSecond: null,
    etaSeconds: null,
  };
}

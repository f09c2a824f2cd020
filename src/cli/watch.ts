import { jobProgress, type Job, type Sluice } from '../client/index.js';
import type { Context } from './command.js';
import { EXIT } from './exitCodes.js';
import { bytes, n, seconds } from './format.js';
import type { Progress } from './progress.js';

// The end of `submit --wait` and `jobs wait`: the scoring bar fed by the job's events, the download
// with its own bar, a one-line summary with the error summary when rows failed, and the exit code:
// 0 completed (failed rows at or under --max-error-rate), 1 failed or cancelled or past it.

export interface FinishOptions {
  maxErrorRate?: number;
  timeoutSeconds?: number;
  out?: string;
  format?: 'csv' | 'ndjson';
}

export async function finishJob(ctx: Context, client: Sluice, job: Job, progress: Progress, opts: FinishOptions): Promise<number> {
  const scoring = progress.bar('scoring');
  const state = (j: Job) => {
    const p = jobProgress(j);
    return { value: p.rowsDone, total: p.rowsTotal, rate: p.ratePerSecond, etaSeconds: p.etaSeconds, failed: p.rowsFailed };
  };
  scoring.update(state(job));
  let final: Job;
  try {
    final = await client.jobs.wait(job.id, {
      signal: ctx.signal,
      timeoutMs: opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000,
      onUpdate: (j) => scoring.update(state(j)),
    });
  } catch (err) {
    progress.stop();
    if (ctx.signal.aborted) {
      ctx.out.error(`stopped watching; job ${job.id} goes on. Watch it again with: sluice jobs wait ${job.id}`);
      return EXIT.interrupted;
    }
    throw err;
  }
  scoring.done(state(final));

  let written: { bytes: number; rows: number } | null = null;
  const counted = final.rows.succeeded + final.rows.failed;
  try {
    if (opts.out && counted > 0) {
      const download = progress.bar('download');
      const total = final.rows.total;
      written = await client.jobs.download(final.id, opts.out, {
        format: opts.format ?? formatFor(opts.out),
        signal: ctx.signal,
        onProgress: (p) => download.update({ value: p.rows, total, bytes: p.bytes }),
      });
      download.done({ value: written.rows, total, bytes: written.bytes });
    }
  } finally {
    progress.stop();
  }

  const verdict = judge(final, opts.maxErrorRate);
  if (ctx.out.json) ctx.out.data(final);
  else for (const l of summary(final, written && opts.out ? { path: opts.out, ...written } : null, verdict)) ctx.out.line(l);
  return verdict.code;
}

export function formatFor(path: string): 'csv' | 'ndjson' {
  return /\.(ndjson|jsonl)$/i.test(path) ? 'ndjson' : 'csv';
}

export function judge(job: Job, maxErrorRate?: number): { code: number; reason: string | null } {
  if (job.status === 'failed') return { code: EXIT.failed, reason: `failed${job.error ? `: ${job.error.code}${job.error.message ? ` (${job.error.message})` : ''}` : ''}` };
  if (job.status === 'cancelled') return { code: EXIT.failed, reason: 'cancelled' };
  const total = job.rows.total ?? job.rows.received;
  if (maxErrorRate !== undefined && total > 0 && job.rows.failed / total > maxErrorRate) {
    return { code: EXIT.failed, reason: `${n(job.rows.failed)} of ${n(total)} rows failed (${((100 * job.rows.failed) / total).toFixed(1)}%), past --max-error-rate ${maxErrorRate}` };
  }
  return { code: EXIT.ok, reason: null };
}

export function summary(job: Job, written: { path: string; bytes: number; rows: number } | null, verdict = judge(job)): string[] {
  const total = job.rows.total ?? job.rows.received;
  const secs = job.duration_ms === null ? null : job.duration_ms / 1000;
  const speed = secs && secs > 0 ? ` (${n(total / secs)} rows/s)` : '';
  const head = `Job ${job.id} ${job.status} in ${seconds(secs)}: ${n(job.rows.succeeded)} of ${n(total)} rows scored, ${n(job.rows.failed)} failed${speed}`;
  const lines = [written ? `${head} → ${written.path} (${bytes(written.bytes)})` : head];
  for (const e of job.errors ?? []) lines.push(`  ${n(e.count)} × ${e.code}: ${e.message} (first rows ${e.first_rows.slice(0, 5).join(', ')})`);
  if (job.rows.failed > 0) lines.push(`  the failed rows with their input: sluice jobs results ${job.id} --only errors --out errors.csv`);
  if (verdict.reason && job.status !== 'cancelled') lines.push(`  ${verdict.reason}`);
  return lines;
}

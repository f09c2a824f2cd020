import { modelLabels, series } from './series.js';

/** What a job end's series read of the job (a JobRow fits). */
export interface EndedJob {
  status: string;
  created_at: Date;
  finished_at: Date | null;
  model_name?: string | null;
  model_version?: number | null;
}

/**
 * sluice_jobs_finished_total{status} and sluice_job_duration_seconds{status}: called by the process
 * that committed the ends, after the commit (JobFinishedNotifier), so a rolled-back end never counts
 * and each end counts once across all processes.
 */
export function recordJobEnds(jobs: EndedJob[]): void {
  if (!series.enabled) return;
  for (const job of jobs) {
    const labels = { status: job.status, ...modelLabels(job.model_name, job.model_version) };
    series.jobsFinished.inc(labels);
    const end = job.finished_at?.getTime() ?? Date.now();
    series.jobDuration.observe(labels, Math.max(0, (end - job.created_at.getTime()) / 1000));
  }
}

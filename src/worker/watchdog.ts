import type pg from 'pg';
import type { Config } from '../config.js';
import { staleJobs } from '../db/staleJobs.js';
import { endStalledJob } from '../jobs/jobEnd.js';
import { viewContext } from '../jobs/view.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import type { Logger } from '../log.js';

/**
 * No job stays unfinished forever. Whatever the cause (a chunk reference lost where the reconciler
 * cannot see it, an api process killed mid-upload, a bug), a job whose progressed_at has not moved
 * for JOB_STALL_TIMEOUT_MS is ended: see endStalledJob. Every worker runs this; the row locks and
 * the re-check under them make concurrent passes harmless.
 */
export async function watchdogPass(opts: { pool: pg.Pool; config: Config; notify: JobFinishedNotifier; log: Logger }): Promise<number> {
  const { pool, config, log } = opts;
  const timeout = config.worker.jobStallTimeoutMs;
  let ended = 0;
  for (const id of await staleJobs(pool, timeout, 100)) {
    const adv = await endStalledJob(pool, id, timeout, viewContext(config));
    if (!adv) continue;
    ended++;
    log.warn({ job_id: id, tenant: adv.job?.tenant_id, model: adv.job?.model_name, version: adv.job?.model_version, code: adv.job?.error_code, rowsFailed: adv.job?.rows_failed }, 'watchdog ended a job that made no progress');
    await opts.notify.afterCommit(adv);
  }
  return ended;
}

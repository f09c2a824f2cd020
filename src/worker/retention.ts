import type pg from 'pg';
import type { Config } from '../config.js';
import { advisoryUnlock } from '../db/advisoryUnlock.js';
import { deleteChunkBatch } from '../db/deleteChunkBatch.js';
import { deleteOldTombstones } from '../db/deleteOldTombstones.js';
import { deletePredictionBatch } from '../db/deletePredictionBatch.js';
import { expiredJobs } from '../db/expiredJobs.js';
import { replaceJobByTombstone } from '../db/replaceJobByTombstone.js';
import { tryAdvisoryLock } from '../db/tryAdvisoryLock.js';
import type { Logger } from '../log.js';

// A session-level advisory lock: one worker at a time runs a retention pass (others skip theirs).
const LOCK_KEY = 7_251_906_004;

/**
 * Deletes finished jobs older than RETENTION_TTL_HOURS with their results and chunks, in batches of
 * RETENTION_BATCH_ROWS rows, each batch its own short transaction (no long locks). A job's row goes
 * last and leaves a tombstone, so a pass cut short resumes where it stopped and the id answers 410.
 * RETENTION_TTL_HOURS=0 turns retention off.
 */
export async function retentionPass(opts: { pool: pg.Pool; config: Config; log: Logger }): Promise<{ jobs: number; rows: number; batches: number } | null> {
  const { pool, config, log } = opts;
  const ttl = config.worker.retentionTtlHours;
  const batch = config.worker.retentionBatchRows;
  if (ttl <= 0) return null;
  const lock = await pool.connect();
  try {
    if (!(await tryAdvisoryLock(lock, LOCK_KEY))) return null;
    try {
      const out = { jobs: 0, rows: 0, batches: 0 };
      for (;;) {
        const ids = await expiredJobs(pool, ttl, 50);
        if (!ids.length) break;
        const before = out.jobs;
        for (const id of ids) {
          for (const del of [deletePredictionBatch, deleteChunkBatch]) {
            for (;;) {
              const n = await del(pool, id, batch);
              out.batches++;
              out.rows += n;
              if (n < batch) break;
            }
          }
          if (await replaceJobByTombstone(pool, id)) out.jobs++;
        }
        if (out.jobs === before) break; // nothing could be deleted: don't spin; the next pass retries
      }
      await deleteOldTombstones(pool, ttl, batch);
      if (out.jobs) log.info(out, 'retention deleted expired jobs');
      return out;
    } finally {
      await advisoryUnlock(lock, LOCK_KEY).catch(() => {});
    }
  } finally {
    lock.release();
  }
}

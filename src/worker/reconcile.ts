import type { Queue } from 'bullmq';
import type pg from 'pg';
import { pendingChunks } from '../db/reconcileChunks.js';
import { CHUNK_JOB_OPTIONS } from '../jobs/enqueue.js';
import type { Logger } from '../log.js';
import { chunkJobId } from '../queue/payloads.js';
import { reconcileDeliveries } from '../webhooks/reconcile.js';

/**
 * Postgres is the source of truth; Redis only carries references. This puts back into Redis
 * every pending chunk it lost (flush, restart without persistence, an enqueue that failed) and
 * revives chunk jobs BullMQ gave up on. Enqueuing twice is harmless: ids are deterministic and
 * the chunk's done-mark in Postgres decides whether scoring happens.
 */
export async function reconcile(opts: { pool: pg.Pool; predict: Queue; interactive: Queue; webhooks: Queue; attempts: number; log: Logger }) {
  const { pool, log } = opts;
  let chunks = 0;
  for (const c of await pendingChunks(pool, 50_000)) {
    const queue = c.kind === 'online' ? opts.interactive : opts.predict;
    const id = chunkJobId(c);
    const state = await queue.getJobState(id);
    if (state === 'unknown') {
      await queue.add('chunk', { jobId: c.jobId, seq: c.seq }, { ...CHUNK_JOB_OPTIONS, attempts: opts.attempts, jobId: id });
      chunks++;
    } else if (state === 'failed' || state === 'completed') {
      // BullMQ finished with it but Postgres says pending (e.g. every attempt met a database outage).
      const job = await queue.getJob(id);
      await job?.remove().catch(() => {});
      await queue.add('chunk', { jobId: c.jobId, seq: c.seq }, { ...CHUNK_JOB_OPTIONS, attempts: opts.attempts, jobId: id });
      chunks++;
    }
  }
  const deliveries = await reconcileDeliveries(pool, opts.webhooks);
  if (chunks || deliveries) log.info({ chunks, deliveries }, 'reconciler re-enqueued work Redis had lost');
  return { chunks, deliveries };
}

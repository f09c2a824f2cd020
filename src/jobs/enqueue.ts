import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import { chunkGroupJob, chunkJob, type ChunkRef } from '../queue/chunkJobs.js';

/**
 * Hands chunks to the queue. A failure here loses nothing: the chunks are already in Postgres and
 * the reconciler enqueues whatever is pending there but absent from Redis.
 */
export async function enqueueChunks(queue: Queue, refs: ChunkRef[], log: Logger, attempts: number, opts: { asGroup?: boolean } = {}): Promise<boolean> {
  if (!refs.length) return true;
  try {
    if (opts.asGroup && refs.length > 1) {
      const g = chunkGroupJob({ chunks: refs }, attempts);
      await queue.add(g.name, g.data, g.opts);
    } else if (refs.length === 1) {
      // One job: a plain add (one script call), not addBulk's MULTI around it.
      const j = chunkJob(refs[0], attempts);
      await queue.add(j.name, j.data, j.opts);
    } else await queue.addBulk(refs.map((r) => chunkJob(r, attempts)));
    return true;
  } catch (err) {
    log.warn({ err: (err as Error).message, chunks: refs.length }, 'could not enqueue chunks; the reconciler will');
    return false;
  }
}

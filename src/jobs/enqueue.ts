import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import { chunkJobId, type ChunkRef } from '../queue/payloads.js';

// Chunk jobs are references; BullMQ keeps no copy once done (Postgres holds the truth), and a
// failed attempt is retried by BullMQ before the worker gives the chunk's rows errors.
export const CHUNK_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: 1000, attempts: 3, backoff: { type: 'exponential', delay: 1000 } } as const;

/**
 * Hands chunks to the queue. A failure here loses nothing: the chunks are already in Postgres and
 * the reconciler enqueues whatever is pending there but absent from Redis.
 */
export async function enqueueChunks(queue: Queue, refs: ChunkRef[], log: Logger, attempts: number): Promise<boolean> {
  if (!refs.length) return true;
  try {
    await queue.addBulk(refs.map((r) => ({ name: 'chunk', data: r, opts: { ...CHUNK_JOB_OPTIONS, attempts, jobId: chunkJobId(r) } })));
    return true;
  } catch (err) {
    log.warn({ err: (err as Error).message, chunks: refs.length }, 'could not enqueue chunks; the reconciler will');
    return false;
  }
}

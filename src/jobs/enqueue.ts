import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import { chunkJobId, type ChunkRef } from '../queue/payloads.js';

/**
 * A chunk's BullMQ job: a reference under a deterministic id. BullMQ keeps no copy once done
 * (Postgres holds the truth), and a failed attempt is retried (CHUNK_ATTEMPTS) before the worker
 * gives the chunk's rows errors.
 */
export function chunkJob(ref: ChunkRef, attempts: number) {
  return {
    name: 'chunk',
    data: { jobId: ref.jobId, seq: ref.seq },
    opts: { removeOnComplete: true, removeOnFail: 1000, attempts, backoff: { type: 'exponential', delay: 1000 }, jobId: chunkJobId(ref) },
  };
}

/**
 * Hands chunks to the queue. A failure here loses nothing: the chunks are already in Postgres and
 * the reconciler enqueues whatever is pending there but absent from Redis.
 */
export async function enqueueChunks(queue: Queue, refs: ChunkRef[], log: Logger, attempts: number): Promise<boolean> {
  if (!refs.length) return true;
  try {
    await queue.addBulk(refs.map((r) => chunkJob(r, attempts)));
    return true;
  } catch (err) {
    log.warn({ err: (err as Error).message, chunks: refs.length }, 'could not enqueue chunks; the reconciler will');
    return false;
  }
}

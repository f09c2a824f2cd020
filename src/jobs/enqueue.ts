import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import { chunkGroupJobId, chunkJobId, type ChunkGroup, type ChunkRef } from '../queue/payloads.js';

/**
 * A chunk's BullMQ job: a reference under a deterministic id. BullMQ keeps no copy once done
 * (Postgres holds the truth), and a failed attempt is retried (CHUNK_ATTEMPTS) before the worker
 * gives the chunk's rows errors.
 */
export function chunkJob(ref: ChunkRef, attempts: number) {
  return {
    name: 'chunk',
    data: { jobId: ref.jobId, seq: ref.seq },
    opts: { ...chunkJobOpts(attempts), jobId: chunkJobId(ref) },
  };
}

/** Several chunks as one BullMQ job (small jobs from POST /v1/predictions, enqueued as a group). */
export function chunkGroupJob(group: ChunkGroup, attempts: number) {
  return { name: 'chunks', data: group, opts: { ...chunkJobOpts(attempts), jobId: chunkGroupJobId(group) } };
}

const chunkJobOpts = (attempts: number) => ({ removeOnComplete: true, removeOnFail: 1000, attempts, backoff: { type: 'exponential', delay: 1000 } });

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
    } else await queue.addBulk(refs.map((r) => chunkJob(r, attempts)));
    return true;
  } catch (err) {
    log.warn({ err: (err as Error).message, chunks: refs.length }, 'could not enqueue chunks; the reconciler will');
    return false;
  }
}

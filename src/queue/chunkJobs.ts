import { z } from 'zod';

// The chunk jobs of the predict queues (queues.ts): what the api and the reconciler add and the
// worker takes. Workers parse job.data with the same schemas the api wrote it with.

export const ChunkRef = z.object({ jobId: z.string().uuid(), seq: z.number().int().min(0).max(2 ** 31 - 1) });
export type ChunkRef = z.infer<typeof ChunkRef>;

/** Deterministic BullMQ id: enqueuing the same chunk twice (api and reconciler) adds it once. */
export const chunkJobId = (r: ChunkRef) => `${r.jobId}_${r.seq}`;

/**
 * Several small jobs' chunks under one BullMQ job: the api's enqueue group for single predictions,
 * so queue bookkeeping (add, take, finish) is paid once per group rather than once per prediction.
 */
export const ChunkGroup = z.object({ chunks: z.array(ChunkRef).min(1).max(1024) });
export type ChunkGroup = z.infer<typeof ChunkGroup>;
export const chunkGroupJobId = (g: ChunkGroup) => `g_${chunkJobId(g.chunks[0])}`;

/** BullMQ job names: one chunk (data: ChunkRef) or a group of them (data: ChunkGroup). */
export const CHUNK_JOB = 'chunk';
export const CHUNK_GROUP_JOB = 'chunks';

/**
 * BullMQ keeps no copy of a chunk job once done (Postgres holds the truth), and a failed attempt is
 * retried (CHUNK_ATTEMPTS) before the worker gives the chunk's rows errors.
 */
const chunkJobOpts = (attempts: number) => ({ removeOnComplete: true, removeOnFail: 1000, attempts, backoff: { type: 'exponential', delay: 1000 } });

/** A chunk's BullMQ job: a reference under a deterministic id. */
export function chunkJob(ref: ChunkRef, attempts: number) {
  return {
    name: CHUNK_JOB,
    data: { jobId: ref.jobId, seq: ref.seq },
    opts: { ...chunkJobOpts(attempts), jobId: chunkJobId(ref) },
  };
}

/** Several chunks as one BullMQ job (small jobs from POST /v1/predictions, enqueued as a group). */
export function chunkGroupJob(group: ChunkGroup, attempts: number) {
  return { name: CHUNK_GROUP_JOB, data: group, opts: { ...chunkJobOpts(attempts), jobId: chunkGroupJobId(group) } };
}

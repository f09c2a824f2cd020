import { z } from 'zod';

// The chunk jobs of the predict queues (queues.ts): what the api and the reconciler add and the
// worker takes. Workers parse job.data with the same schemas the api wrote it with.

/**
 * A small job's records and what scoring them takes, carried in the queue beside the chunk's
 * reference by the api that stored them, so the worker scores them without loading the chunk.
 * Postgres stays the source of truth: the copy is the records exactly as committed, the finishing
 * commit still requires the stored chunk pending and its job unfinished, and a chunk re-added by
 * the reconciler carries none (the worker then loads it from Postgres, counting its start).
 */
export const InlineChunk = z.object({
  tenantId: z.string().uuid(),
  modelVersionId: z.number().int().positive(),
  /** The version's model name and number, for the worker's log lines. */
  modelName: z.string(),
  modelVersion: z.number().int(),
  /** The job's columns (what the model reads), as stored on the job. */
  columns: z.array(z.string()),
  records: z.array(z.unknown()).min(1),
});
export type InlineChunk = z.infer<typeof InlineChunk>;

/** A small job's records ride in the queue up to this many bytes of JSON; beyond, the worker loads them. */
export const INLINE_RECORDS_MAX_BYTES = 16 * 1024;
/** …and at most this many bytes of them in one enqueue group (a Redis value stays small). */
export const INLINE_GROUP_MAX_BYTES = 512 * 1024;

// A copy that does not read (a writer's bug) is dropped, not fatal: the worker loads the chunk.
export const ChunkRef = z.object({ jobId: z.string().uuid(), seq: z.number().int().min(0).max(2 ** 31 - 1), inline: InlineChunk.optional().catch(undefined) });
export type ChunkRef = z.infer<typeof ChunkRef>;

/** Deterministic BullMQ id: enqueuing the same chunk twice (api and reconciler) adds it once. */
export const chunkJobId = (r: Pick<ChunkRef, 'jobId' | 'seq'>) => `${r.jobId}_${r.seq}`;

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
    data: { jobId: ref.jobId, seq: ref.seq, ...(ref.inline && { inline: ref.inline }) },
    opts: { ...chunkJobOpts(attempts), jobId: chunkJobId(ref) },
  };
}

/** Several chunks as one BullMQ job (small jobs from POST /v1/predictions, enqueued as a group). */
export function chunkGroupJob(group: ChunkGroup, attempts: number) {
  return { name: CHUNK_GROUP_JOB, data: group, opts: { ...chunkJobOpts(attempts), jobId: chunkGroupJobId(group) } };
}

import { z } from 'zod';

// What travels through Redis: references to durable rows in Postgres, never the rows themselves.
// Workers parse job.data with the same schemas the api wrote it with.
export const QUEUES = {
  /** CSV chunks of batch jobs. */
  predict: 'predict',
  /** Small jobs from POST /v1/predictions: their own queue, so they never wait behind bulk chunks. */
  interactive: 'predict-interactive',
  webhooks: 'webhooks',
} as const;

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

/** Pub/sub channel on which a worker announces that jobs reached a final status (their ids, space-separated). */
export const jobDoneChannel = (prefix: string) => `${prefix}:job-finished`;

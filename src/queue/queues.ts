// The BullMQ queues and the pub/sub channel the api and workers share through Redis. What travels
// is references to durable rows in Postgres; a small job's entry also carries a copy of its records
// as committed, so the worker need not read them back (Postgres stays the truth: chunkJobs.ts,
// deliveryJobs.ts).
export const QUEUES = {
  /** CSV chunks of batch jobs. */
  predict: 'predict',
  /** Small jobs from POST /v1/predictions: their own queue, so they never wait behind bulk chunks. */
  interactive: 'predict-interactive',
  webhooks: 'webhooks',
} as const;

/** Pub/sub channel on which a worker announces that jobs reached a final status (their ids, space-separated). */
export const jobDoneChannel = (prefix: string) => `${prefix}:job-finished`;

/** Pub/sub channel on which a worker announces that batch jobs moved (src/jobs/progressMessage.ts): what live progress (SSE) follows. */
export const jobProgressChannel = (prefix: string) => `${prefix}:job-progress`;

// The webhook events a tenant can subscribe to, defined once: the api validates subscriptions
// against this list, and the outbox writes deliveries of these types.
export const JOB_EVENT_TYPES = ['job.completed', 'job.failed', 'job.cancelled', 'job.progress'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** The events that end a job (one per job end, never repeated); job.progress is the other kind. */
export type JobEndEventType = Exclude<JobEventType, 'job.progress'>;

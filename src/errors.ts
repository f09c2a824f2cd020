// The errors the code tells apart, each a class checked with `instanceof`; each is given its class
// once, where it arises (never recognised later by its message or name):
//  - HttpError: a status and a stable code from the catalogue below. Every 4xx the API sends is
//    one, rendered as application/problem+json; anything else becomes a 500 that says nothing internal.
//  - UnavailableError: Postgres or Redis cannot be reached just now, classified where their errors
//    enter (src/db/pool.ts for every query, src/queue/redis.ts's classifyRedisError for Redis calls
//    of our own): a 503 in the api, a pause and a retry in the worker.
//  - InferenceError: the model could not score a task (src/inference): the worker retries the chunk.
export const ERROR_CODES = {
  bad_request: 400,
  upload_aborted: 400,
  invalid_json: 400,
  invalid_gzip: 400,
  json_too_deep: 400,
  validation_failed: 400,
  unknown_parameter: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  model_not_found: 404,
  job_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  idempotency_conflict: 409,
  idempotency_key_reused: 409,
  key_limit_reached: 409,
  job_not_cancellable: 409,
  promotion_guard_failed: 409,
  nothing_to_roll_back: 409,
  job_not_finished: 409,
  nothing_to_retry: 409,
  results_not_mergeable: 409,
  gone: 410,
  job_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_model: 422,
  external_data_not_supported: 422,
  invalid_signature: 422,
  signature_mismatch: 422,
  missing_columns: 422,
  duplicate_columns: 422,
  empty_upload: 422,
  invalid_csv: 422,
  too_many_rows: 422,
  too_many_columns: 422,
  record_too_large: 422,
  invalid_callback_url: 422,
  invalid_records: 422,
  missing_label_column: 422,
  evaluation_not_supported: 422,
  incompatible_models: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  internal: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = ERROR_CODES[code];
  }
}

/** A backing service (Postgres, Redis) is unreachable or cut the connection: retrying later can succeed. The original error is the cause. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
  constructor(
    readonly service: 'postgres' | 'redis',
    options: { cause: unknown },
  ) {
    super(`${service} is unavailable: ${(options.cause as Error | null)?.message ?? String(options.cause)}`, options);
  }
}

/** The task as a whole could not run (plan/header mismatch, model fails to load, run rejects the batch). */
export class InferenceError extends Error {
  override name = 'InferenceError';
  constructor(
    message: string,
    readonly stage: 'prepare' | 'load' | 'run',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function problemBody(err: HttpError, instance?: string) {
  return { type: `about:blank#${err.code}`, title: err.code.replace(/_/g, ' '), status: err.status, code: err.code, detail: err.message, instance, ...err.extra };
}

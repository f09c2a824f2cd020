// One status-carrying error and a catalogue of stable codes. Every 4xx the API sends is one of
// these, rendered as application/problem+json; anything else becomes a 500 that says nothing internal.
export const ERROR_CODES = {
  bad_request: 400,
  upload_aborted: 400,
  invalid_json: 400,
  json_too_deep: 400,
  validation_failed: 400,
  unknown_parameter: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  job_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  idempotency_conflict: 409,
  idempotency_key_reused: 409,
  job_not_cancellable: 409,
  gone: 410,
  job_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_model: 422,
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
  ) {
    super(message);
    this.status = ERROR_CODES[code];
  }
}

export function problemBody(err: HttpError, instance?: string) {
  return { type: `about:blank#${err.code}`, title: err.code.replace(/_/g, ' '), status: err.status, code: err.code, detail: err.message, instance, ...err.extra };
}

import type { ProblemCode } from './types.js';

// What the client throws, each a class to check with `instanceof` (never by message):
//  - ApiError and one subclass per status a caller branches on, carrying the problem+json `code`
//    (stable: branch on it), the status, the `detail` as message and the request id;
//  - ConnectionError: no HTTP answer at all (refused, reset, DNS), after the retries;
//  - WaitTimeoutError: waitForJob gave up before the job finished.

export class SluiceError extends Error {
  override name = 'SluiceError';
}

/** A problem+json body as the API sends it (RFC 9457), or what we make of a body that is not one. */
export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  request_id?: string;
  [field: string]: unknown;
}

export class ApiError extends SluiceError {
  override name = 'ApiError';
  /** The problem's stable code; `http_<status>` when the answer was not problem+json (a proxy's page). */
  readonly code: ProblemCode | (string & {});
  readonly requestId: string | null;
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
    readonly headers: Headers,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.code = problem.code ?? `http_${status}`;
    this.requestId = problem.request_id ?? headers.get('x-request-id');
  }

  /** The subclass for the status, from a body that may or may not be a problem. */
  static from(status: number, body: unknown, headers: Headers): ApiError {
    const problem: ProblemBody =
      body && typeof body === 'object' ? (body as ProblemBody) : { detail: typeof body === 'string' && body.trim() ? `HTTP ${status}: ${body.trim().slice(0, 200)}` : `HTTP ${status}` };
    const Class = STATUS_CLASSES[status] ?? (status >= 500 ? InternalServerError : ApiError);
    return new Class(status, problem, headers);
  }
}

export class BadRequestError extends ApiError { override name = 'BadRequestError'; }
export class AuthenticationError extends ApiError { override name = 'AuthenticationError'; }
export class PermissionDeniedError extends ApiError { override name = 'PermissionDeniedError'; }
export class NotFoundError extends ApiError { override name = 'NotFoundError'; }
export class ConflictError extends ApiError { override name = 'ConflictError'; }
export class GoneError extends ApiError { override name = 'GoneError'; }
export class PayloadTooLargeError extends ApiError { override name = 'PayloadTooLargeError'; }
export class UnsupportedMediaTypeError extends ApiError { override name = 'UnsupportedMediaTypeError'; }
export class UnprocessableEntityError extends ApiError { override name = 'UnprocessableEntityError'; }
export class RateLimitError extends ApiError {
  override name = 'RateLimitError';
  /** Seconds the server asked us to wait (Retry-After), when it said. */
  get retryAfterSeconds(): number | null {
    const s = Number(this.headers.get('retry-after'));
    return Number.isFinite(s) && s >= 0 ? s : null;
  }
}
export class InternalServerError extends ApiError { override name = 'InternalServerError'; }
export class ServiceUnavailableError extends InternalServerError { override name = 'ServiceUnavailableError'; }

const STATUS_CLASSES: Record<number, new (status: number, problem: ProblemBody, headers: Headers) => ApiError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
  503: ServiceUnavailableError,
};

/** The server gave no HTTP answer (refused, reset, unknown host), after the retries. */
export class ConnectionError extends SluiceError {
  override name = 'ConnectionError';
  constructor(
    readonly url: string,
    options: { cause: unknown },
  ) {
    super(`Cannot reach Sluice at ${url}: ${describeCause(options.cause)}`, options);
  }
}

/** waitForJob's deadline passed; `job` is the last state seen. */
export class WaitTimeoutError extends SluiceError {
  override name = 'WaitTimeoutError';
  constructor(
    readonly jobId: string,
    readonly lastStatus: string | null,
    seconds: number,
  ) {
    super(`Job ${jobId} was still ${lastStatus ?? 'unknown'} after ${seconds} s.`);
  }
}

/** Reads a non-2xx response into the ApiError for it (the body is consumed). */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the message
  }
  return ApiError.from(res.status, body, res.headers);
}

function describeCause(cause: unknown): string {
  const c = cause as { code?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  return c?.cause?.code ?? c?.code ?? c?.cause?.message ?? c?.message ?? String(cause);
}

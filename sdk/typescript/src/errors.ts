/**
 * The errors the client throws: one class per kind of failure, each
 * carrying the server's error envelope (`{"error": {message, type, param,
 * code}}`) and the answer's request id. Hand-written (beside src/generated, which sdk/generate writes).
 */
import type { AudioJob, ErrorBody } from './generated/types.gen.js';

/** A failed request: the HTTP status and the envelope's fields. */
export class StratusError extends Error {
  /** The HTTP status; 0 when no answer came (connection, timeout, abort). */
  readonly status: number;
  readonly type?: string;
  readonly param?: string | null;
  readonly code?: string | null;
  /** Seconds the server asked to wait (429, 503), if it said. */
  readonly retryAfter?: number;
  /** The server's id of the request (`x-request-id`): quote it when reporting a problem. */
  readonly requestId?: string;
  /** The answer's headers, when there was an answer. */
  readonly headers?: Headers;
  readonly error: Partial<ErrorBody>;

  constructor(status: number, error: Partial<ErrorBody>, headers?: Headers) {
    super(`${status} ${error.type ?? 'error'}: ${error.message ?? ''}`);
    this.name = new.target.name;
    this.status = status;
    this.error = error;
    this.type = error.type;
    this.param = error.param;
    this.code = error.code;
    this.headers = headers;
    this.requestId = headers?.get('x-request-id') ?? undefined;
    const after = headers?.get('retry-after')?.trim();
    this.retryAfter = after != null && /^\d+$/.test(after) ? Number(after) : undefined;
  }

  /**
   * The typed error of a failed response: `body` is what was read of it
   * already (parsed JSON or text), else the body is read here.
   */
  static async from(response: Response, body?: unknown): Promise<StratusError> {
    if (body === undefined) {
      const text = await response.text().catch(() => '');
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const envelope = body as { error?: Partial<ErrorBody> } | null;
    let error: Partial<ErrorBody>;
    if (typeof envelope === 'object' && envelope !== null && typeof envelope.error === 'object' && envelope.error !== null) {
      error = envelope.error;
    } else {
      const empty = body === null || (typeof body === 'object' && Object.keys(body).length === 0);
      const text = typeof body === 'string' ? body : empty ? '' : JSON.stringify(body);
      error = { message: text || `HTTP ${response.status}`, type: 'unknown' };
    }
    const Kind = errorClass(response.status);
    return new Kind(response.status, error, response.headers);
  }
}

/** 400, 405, 413, 415, 422: the request is wrong; fix it before retrying. */
export class BadRequestError extends StratusError {}
/** 401: no API key, or an invalid one. */
export class AuthenticationError extends StratusError {}
/** 403: the key lacks the scope. */
export class PermissionDeniedError extends StratusError {}
/** 404: no such resource or model. */
export class NotFoundError extends StratusError {}
/** 409: a conflict (a tenant name taken, the key limit reached). */
export class ConflictError extends StratusError {}
/** 429: a rate or quota limit (after the retries ran out, or none were worth it). */
export class RateLimitError extends StratusError {}
/** 5xx other than 503. */
export class InternalServerError extends StratusError {}
/** 503: overloaded or not ready (after the retries ran out). */
export class ServiceUnavailableError extends StratusError {}
/** An `error` event ended a stream that had started (status 200). */
export class StreamError extends StratusError {}

/** The server could not be reached, or the answer broke off (status 0). */
export class APIConnectionError extends StratusError {
  constructor(cause: unknown, message?: string) {
    super(0, { message: message ?? (cause instanceof Error ? cause.message : String(cause)), type: 'connection_error' });
    this.cause = cause;
  }
}

/** An attempt ran past `timeoutMs` (status 0). */
export class APIConnectionTimeoutError extends APIConnectionError {
  constructor(cause?: unknown) {
    super(cause, 'the request timed out');
  }
}

/** The caller's AbortSignal fired (status 0). */
export class APIUserAbortError extends StratusError {
  constructor(cause?: unknown) {
    super(0, { message: 'the request was aborted', type: 'aborted' });
    this.cause = cause;
  }
}

/**
 * A job ended `failed` or `cancelled` (status 200: the job itself was
 * read fine); `job` is how it ended, `code` its error code (`cancelled`
 * for a cancelled one).
 */
export class JobFailedError extends StratusError {
  readonly job: AudioJob;

  constructor(job: AudioJob) {
    const error =
      job.status === 'cancelled'
        ? { message: `job ${job.id} was cancelled`, type: 'job_cancelled', code: 'cancelled' }
        : { message: job.error?.message ?? `job ${job.id} failed`, type: 'job_failed', code: job.error?.code ?? null };
    super(200, error);
    this.job = job;
  }
}

/** `wait` gave up after `timeoutMs`; the job goes on (`job` is how it was last seen). */
export class JobWaitTimeoutError extends StratusError {
  readonly job: AudioJob;

  constructor(job: AudioJob, timeoutMs: number) {
    super(0, { message: `job ${job.id} still ${job.status} after ${timeoutMs} ms`, type: 'timeout' });
    this.job = job;
  }
}

function errorClass(status: number): new (status: number, error: Partial<ErrorBody>, headers?: Headers) => StratusError {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 415:
    case 422:
      return BadRequestError;
    case 401:
      return AuthenticationError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 429:
      return RateLimitError;
    case 503:
      return ServiceUnavailableError;
    default:
      return status >= 500 ? InternalServerError : StratusError;
  }
}

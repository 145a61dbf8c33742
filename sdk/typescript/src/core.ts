/**
 * The machinery under `Stratus`: the retrying fetch, `APIPromise` (the
 * parsed result, or the raw answer with `.asResponse()` / `.withResponse()`),
 * pages as async iterators, and server-sent events (parsed by
 * `eventsource-parser`). Hand-written (beside src/generated, which sdk/generate writes).
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { EventSourceMessage } from 'eventsource-parser/stream';

import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, StratusError, StreamError } from './errors.js';
import type { TranscriptionStreamEvent } from './generated/types.gen.js';

// -- retries ----------------------------------------------------------------

/**
 * Whether a failed answer is worth resending: the server's `x-should-retry`
 * wins (it says `false` where waiting cannot help, such as a spent budget),
 * otherwise 429 and 503 are.
 */
export function shouldRetry(response: Response): boolean {
  const header = response.headers.get('x-should-retry')?.trim().toLowerCase();
  if (header === 'false') return false;
  if (header === 'true') return true;
  return response.status === 429 || response.status === 503;
}

/** Milliseconds to wait: Retry-After (seconds or a date) when sent, else exponential backoff with jitter. */
export function retryDelayMs(response: Response, attempt: number, maxWaitMs: number): number {
  const header = response.headers.get('retry-after');
  if (header !== null) {
    const seconds = /^\d+$/.test(header.trim()) ? Number(header.trim()) : (Date.parse(header) - Date.now()) / 1000;
    if (!Number.isNaN(seconds)) return Math.min(Math.max(seconds, 0) * 1000, maxWaitMs);
  }
  return Math.min(500 * 2 ** attempt * (0.5 + Math.random() / 2), maxWaitMs);
}

/** Resolves after `ms`, or rejects with the signal's reason once it fires. */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A fetch that resends a request answered 429/503 unless the server said
 * `x-should-retry: false` (the body is buffered so a multipart upload can
 * be sent again), waiting what Retry-After says, with a timeout per attempt
 * that also bounds reading the answer. The request's own signal aborts it,
 * the waits included.
 */
export function retryingFetch(inner: typeof fetch, maxRetries: number, maxWaitMs: number, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const response = await inner(request.url, {
        method: request.method,
        headers: request.headers,
        body,
        redirect: request.redirect,
        signal: AbortSignal.any([request.signal, timeout]),
      });
      if (!shouldRetry(response) || attempt >= maxRetries) return response;
      await response.body?.cancel();
      await sleep(retryDelayMs(response, attempt, maxWaitMs), request.signal);
    }
  };
}

/** The typed error of a fetch that threw: the caller's abort, a timeout, or a connection failure. */
export function connectionError(error: unknown, signal?: AbortSignal | null): StratusError {
  if (error instanceof StratusError) return error;
  if (signal?.aborted) return new APIUserAbortError(error);
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError') return new APIConnectionTimeoutError(error);
  return new APIConnectionError(error);
}

// -- raw answers ------------------------------------------------------------

/** One family of rate-limit headers (`x-ratelimit-{limit,remaining,reset}-<family>`). */
export interface RateLimit {
  limit?: number;
  remaining?: number;
  /** As sent, OpenAI's way (`20ms`, `1.5s`, `6m0s`): until the bucket is full again. */
  reset?: string;
  /** `reset` in milliseconds. */
  resetMs?: number;
}

/** The rate-limit headers of an answer, by family; a family the route has no limit for is absent. */
export interface RateLimits {
  requests?: RateLimit;
  /** Language routes: input tokens. */
  tokens?: RateLimit;
  /** Speech routes: seconds of audio. */
  audioSeconds?: RateLimit;
}

/** `20ms`, `1.5s`, `6m0s`, `1h2m` in milliseconds (undefined if it is none of these). */
export function parseDurationMs(text: string): number | undefined {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as string]!, 0);
}

/** The rate-limit headers of `headers`, parsed. */
export function parseRateLimits(headers: Headers): RateLimits {
  const family = (suffix: string): RateLimit | undefined => {
    const limit = headers.get(`x-ratelimit-limit-${suffix}`);
    const remaining = headers.get(`x-ratelimit-remaining-${suffix}`);
    const reset = headers.get(`x-ratelimit-reset-${suffix}`);
    if (limit === null && remaining === null && reset === null) return undefined;
    return {
      limit: limit === null ? undefined : Number(limit),
      remaining: remaining === null ? undefined : Number(remaining),
      reset: reset ?? undefined,
      resetMs: reset === null ? undefined : parseDurationMs(reset),
    };
  };
  const limits: RateLimits = {};
  const requests = family('requests');
  const tokens = family('tokens');
  const audioSeconds = family('audio-seconds');
  if (requests) limits.requests = requests;
  if (tokens) limits.tokens = tokens;
  if (audioSeconds) limits.audioSeconds = audioSeconds;
  return limits;
}

/** What `.withResponse()` gives: the parsed result and the answer it came from. */
export interface WithResponse<T> {
  data: T;
  /** The answer (its body already read into `data`). */
  response: Response;
  /** `x-request-id`: the server's id of this request (usage events carry it as `request_id`). */
  requestId: string | null;
  rateLimits: RateLimits;
}

/**
 * The promise every call returns: await it for the parsed result, as
 * usual; `.asResponse()` for the raw `Response` (headers, status, the body
 * unread), `.withResponse()` for both. A failed request rejects all three
 * with the typed error.
 */
export class APIPromise<T> extends Promise<T> {
  static override get [Symbol.species]() {
    return Promise;
  }

  readonly #response: Promise<Response>;
  readonly #parse: (response: Response) => Promise<T>;
  #parsed: Promise<T> | undefined;

  constructor(response: Promise<Response>, parse: (response: Response) => Promise<T>) {
    super((resolve) => resolve(undefined as T));
    this.#response = response;
    this.#parse = parse;
    // A failure reaches whoever awaits; unobserved, it is not a crash.
    response.catch(() => {});
  }

  /** The raw answer, its body unread (a 2xx: errors reject with the typed error). */
  asResponse(): Promise<Response> {
    return this.#response;
  }

  /** The parsed result with the answer's headers: request id and rate limits. */
  async withResponse(): Promise<WithResponse<T>> {
    const [data, response] = await Promise.all([this.#value(), this.#response]);
    return { data, response, requestId: response.headers.get('x-request-id'), rateLimits: parseRateLimits(response.headers) };
  }

  #value(): Promise<T> {
    this.#parsed ??= this.#response.then(this.#parse);
    return this.#parsed;
  }

  override then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#value().then(onfulfilled, onrejected);
  }

  override catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#value().catch(onrejected);
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#value().finally(onfinally);
  }
}

// -- pages ------------------------------------------------------------------

/**
 * One page of a listing. Iterate it (`for await`) for every item of this
 * page and the ones after, fetched as needed; `iterPages()` for the pages.
 */
export class Page<T> implements AsyncIterable<T> {
  readonly data: T[];
  readonly response: Response;
  /** Whether the server said more follow at once. */
  readonly hasMore: boolean;
  /**
   * Where the next page starts: usage events' `x-stratus-cursor` (also
   * where to resume later to follow new events), jobs' `last_id`.
   */
  readonly nextCursor: string | null;
  readonly #next: ((cursor: string) => PagePromise<T>) | undefined;

  constructor(data: T[], response: Response, hasMore: boolean, nextCursor: string | null, next?: (cursor: string) => PagePromise<T>) {
    this.data = data;
    this.response = response;
    this.hasMore = hasMore;
    this.nextCursor = nextCursor;
    this.#next = next;
  }

  hasNextPage(): boolean {
    return this.hasMore && this.nextCursor !== null && this.#next !== undefined;
  }

  /** The next page (check `hasNextPage()` first). */
  getNextPage(): PagePromise<T> {
    if (!this.hasNextPage()) throw new Error('no next page: check hasNextPage() first');
    return this.#next!(this.nextCursor!);
  }

  /** This page and every one after it. */
  async *iterPages(): AsyncGenerator<Page<T>> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/** A page's `APIPromise`: await it for the first page, or `for await` every item of every page. */
export class PagePromise<T> extends APIPromise<Page<T>> implements AsyncIterable<T> {
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* await this;
  }
}

// -- server-sent events -----------------------------------------------------

/** The events of a `text/event-stream` body, parsed by `eventsource-parser` (an unterminated last event is dropped, as EventSource does). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const reader = body
    .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stops the body too when the caller breaks off.
    await reader.cancel().catch(() => {});
  }
}

/** Each event's data (its `data:` lines joined). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const event of sseEvents(body)) yield event.data;
}

/** `transcript.text.delta`: the next piece of text. */
export type TranscriptTextDeltaEvent = Extract<TranscriptionStreamEvent, { type: 'transcript.text.delta' }>;
/** `transcript.text.done`: the whole text and the usage; the last event. */
export type TranscriptTextDoneEvent = Extract<TranscriptionStreamEvent, { type: 'transcript.text.done' }>;
/** `error`: decoding failed after the answer started (thrown as StreamError, never yielded). */
export type TranscriptErrorEvent = Extract<TranscriptionStreamEvent, { type: 'error' }>;
/** What a streamed transcription yields: a discriminated union on `type`. */
export type TranscriptionStreamEvents = TranscriptTextDeltaEvent | TranscriptTextDoneEvent;

/**
 * A streamed transcription: iterate it for its events. An `error` event
 * throws StreamError; a stream that ends before `transcript.text.done`
 * throws APIConnectionError.
 */
export class Stream<T> implements AsyncIterable<T> {
  readonly response: Response;
  readonly #events: AsyncGenerator<T>;

  constructor(response: Response, events: AsyncGenerator<T>) {
    this.response = response;
    this.#events = events;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.#events;
  }
}

/** The transcription events of `response`'s SSE body. */
export async function* transcriptionEvents(response: Response, signal?: AbortSignal | null): AsyncGenerator<TranscriptionStreamEvents> {
  if (response.body === null) throw new APIConnectionError(null, 'the stream has no body');
  try {
    for await (const message of sseEvents(response.body)) {
      const event = JSON.parse(message.data) as TranscriptionStreamEvent;
      if (event.type === 'error') throw new StreamError(200, event.error, response.headers);
      yield event;
      if (event.type === 'transcript.text.done') return;
    }
  } catch (e) {
    throw connectionError(e, signal);
  }
  throw new APIConnectionError(null, 'the stream ended before `transcript.text.done`');
}

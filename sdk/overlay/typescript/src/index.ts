/**
 * The friendly face of the generated client (src/generated, from
 * openapi/stratus.json): API key, base URL, timeouts, retries on 429/503
 * honouring Retry-After, typed errors carrying the error envelope, and
 * streamed transcription (server-sent events: the generated operation
 * hands back the body stream, parsed here). Hand-written
 * (sdk/overlay/typescript), copied beside the generated code by
 * sdk/generate.
 */
import { createClient, createConfig } from './generated/client/index.js';
import type { Client } from './generated/client/index.js';
import * as ops from './generated/sdk.gen.js';
import type {
  AudioForm,
  ClassifyRequest,
  ClassifyResponse,
  DetectRequest,
  DetectResponse,
  EmbeddingsRequest,
  EmbeddingsResponse,
  EntitiesResponse,
  ErrorBody,
  Invoice,
  InvoiceList,
  KeyPhrasesRequest,
  KeyPhrasesResponse,
  LimitSpec,
  LimitsView,
  ModelList,
  PiiRequest,
  SummarizeRequest,
  SummarizeResponse,
  Transcription,
  TranscriptionStreamEvent,
  TranscriptionVerbose,
  UsageEvent,
} from './generated/types.gen.js';

export * from './generated/types.gen.js';
export * as operations from './generated/sdk.gen.js';

export interface StratusOptions {
  /** `sk_…`; default `process.env.STRATUS_API_KEY`. */
  apiKey?: string;
  /** Default `process.env.STRATUS_BASE_URL` or `http://127.0.0.1:8080`. */
  baseUrl?: string;
  /** Per attempt, answer included (a stream's whole length), milliseconds (default 120 000). */
  timeoutMs?: number;
  /** Retries of a 429/503 answer (default 3). */
  maxRetries?: number;
  /** Longest wait between attempts, milliseconds (default 60 000). */
  maxRetryWaitMs?: number;
  fetch?: typeof fetch;
}

/** A failed request: the status and the envelope's fields. */
export class StratusError extends Error {
  readonly status: number;
  readonly type?: string;
  readonly param?: string | null;
  readonly code?: string | null;
  /** Seconds the server asked to wait (429, 503), if it said. */
  readonly retryAfter?: number;
  readonly error: Partial<ErrorBody>;

  constructor(status: number, error: Partial<ErrorBody>, headers?: Headers) {
    super(`${status} ${error.type ?? 'error'}: ${error.message ?? ''}`);
    this.name = new.target.name;
    this.status = status;
    this.error = error;
    this.type = error.type;
    this.param = error.param;
    this.code = error.code;
    const after = headers?.get('retry-after')?.trim();
    this.retryAfter = after != null && /^\d+$/.test(after) ? Number(after) : undefined;
  }

  /** The typed error of a failed response (its envelope when it has one). */
  static async from(response: Response, body?: unknown): Promise<StratusError> {
    let envelope = body as { error?: Partial<ErrorBody> } | undefined;
    if (typeof envelope?.error !== 'object' || envelope.error === null) {
      const text = typeof body === 'string' ? body : await response.clone().text().catch(() => '');
      try {
        envelope = JSON.parse(text) as { error?: Partial<ErrorBody> };
      } catch {
        envelope = { error: { message: text || `HTTP ${response.status}`, type: 'unknown' } };
      }
    }
    const Kind = errorClass(response.status);
    return new Kind(response.status, envelope?.error ?? {}, response.headers);
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
/** 429: a rate or quota limit (after the retries ran out). */
export class RateLimitError extends StratusError {}
/** 503: overloaded or not ready (after the retries ran out). */
export class ServiceUnavailableError extends StratusError {}
/** An `error` event ended a stream that had started (status 200). */
export class StreamError extends StratusError {}
/** The server could not be reached, or the request timed out (status 0). */
export class APIConnectionError extends StratusError {
  constructor(cause: unknown) {
    super(0, { message: cause instanceof Error ? cause.message : String(cause), type: 'connection_error' });
    this.cause = cause;
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
    case 429:
      return RateLimitError;
    case 503:
      return ServiceUnavailableError;
    default:
      return StratusError;
  }
}

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

/**
 * A fetch that resends a request answered 429/503 unless the server said
 * `x-should-retry: false` (the body is buffered so
 * a multipart upload can be sent again), with a timeout per attempt that
 * also bounds reading the answer.
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
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response, attempt, maxWaitMs)));
    }
  };
}

/** The events of a `text/event-stream` body: each event's `data:` lines joined. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer = done ? buffer + decoder.decode() : buffer + decoder.decode(value, { stream: true });
      const events = buffer.split(/\r\n\r\n|\n\n|\r\r/);
      buffer = done ? '' : (events.pop() ?? '');
      for (const event of events) {
        const data = event
          .split(/\r\n|\n|\r/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''));
        if (data.length > 0) yield data.join('\n');
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

type Fields = Omit<AudioForm, 'file' | 'model' | 'stream'> & { model?: string };

/** What a transcription answers: the JSON formats typed, the text formats as written. */
export type TranscriptionResult = Transcription | TranscriptionVerbose | string;

/** A key just created over the admin API: `secret` (`sk_…`) is shown this once. */
export interface CreatedKey {
  id: string;
  tenant_id: string;
  name?: string | null;
  scopes: string[];
  secret: string;
  expires_at?: number | null;
}

/** A tenant (organisation). */
export interface Tenant {
  id: string;
  name: string;
  created_at: number;
}

/** Units consumed. */
export interface UsageTotals {
  requests: number;
  audio_seconds: number;
  input_tokens: number;
  characters: number;
  documents: number;
}

/** `GET /v1/usage`: the key's tenant's consumption over a time range. */
export interface UsageReport {
  tenant_id: string;
  start: string;
  end: string;
  bucket: string;
  totals: UsageTotals;
  data: Array<Record<string, unknown>>;
}

export class Stratus {
  /** The generated client: every operation of `operations` takes `{ client: stratus.client }`. */
  readonly client: Client;
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly fetch: typeof fetch;

  constructor(options: StratusOptions = {}) {
    // Node's environment when there is one (not in browsers).
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
    this.apiKey = options.apiKey ?? env.STRATUS_API_KEY;
    this.baseUrl = (options.baseUrl ?? env.STRATUS_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
    this.fetch = retryingFetch(options.fetch ?? fetch, options.maxRetries ?? 3, options.maxRetryWaitMs ?? 60_000, options.timeoutMs ?? 120_000);
    this.client = createClient(createConfig({ baseUrl: this.baseUrl, auth: this.apiKey, fetch: this.fetch }));
  }

  private async unwrap<T>(call: Promise<{ data?: T; error?: unknown; response?: Response }>): Promise<T> {
    const { data, error, response } = await call;
    // No response: the fetch itself failed (network, timeout).
    if (response === undefined) throw new APIConnectionError(error);
    if (!response.ok) throw await StratusError.from(response, error);
    return data as T;
  }

  // -- audio ------------------------------------------------------------------

  /** Transcribe audio (a Blob/File, multipart upload); fields are the form's other fields. */
  transcribe(file: Blob, fields: Fields = {}): Promise<TranscriptionResult> {
    return this.unwrap(ops.createTranscription({ client: this.client, body: { model: 'whisper-1', ...fields, file } }));
  }

  /** Translate speech into English text (a multilingual model). */
  translate(file: Blob, fields: Fields = {}): Promise<TranscriptionResult> {
    return this.unwrap(ops.createTranslation({ client: this.client, body: { model: 'whisper-1', ...fields, file } }));
  }

  /**
   * Transcribe with `stream=true`: yields each event as the audio is decoded
   * (`transcript.text.delta`, then one `transcript.text.done`); an `error`
   * event throws StreamError.
   */
  async *streamTranscription(file: Blob, fields: Fields = {}): AsyncGenerator<Exclude<TranscriptionStreamEvent, { type: 'error' }>> {
    const body = (await this.unwrap(
      ops.createTranscription({
        client: this.client,
        body: { model: 'whisper-1', ...fields, file, stream: true },
        parseAs: 'stream',
      }),
    )) as unknown as ReadableStream<Uint8Array>;
    for await (const data of sseData(body)) {
      const event = JSON.parse(data) as TranscriptionStreamEvent;
      if (event.type === 'error') throw new StreamError(200, event.error);
      yield event;
    }
  }

  // -- language ---------------------------------------------------------------

  /** Embeddings of one text or a list. */
  embed(body: EmbeddingsRequest): Promise<EmbeddingsResponse> {
    return this.unwrap(ops.createEmbeddings({ client: this.client, body }));
  }

  /** The language of each document. */
  detectLanguage(body: DetectRequest): Promise<DetectResponse> {
    return this.unwrap(ops.detectLanguage({ client: this.client, body }));
  }

  /** Personal data in each document, and its redacted text. */
  redactPii(body: PiiRequest): Promise<EntitiesResponse> {
    return this.unwrap(ops.redactPii({ client: this.client, body }));
  }

  /** Named entities of each document. */
  recognizeEntities(body: PiiRequest): Promise<EntitiesResponse> {
    return this.unwrap(ops.recognizeEntities({ client: this.client, body }));
  }

  /** Key phrases of each document. */
  extractKeyPhrases(body: KeyPhrasesRequest): Promise<KeyPhrasesResponse> {
    return this.unwrap(ops.extractKeyPhrases({ client: this.client, body }));
  }

  /** Labels of each document. */
  classify(body: ClassifyRequest): Promise<ClassifyResponse> {
    return this.unwrap(ops.classifyText({ client: this.client, body }));
  }

  /** A summary of each document. */
  summarize(body: SummarizeRequest): Promise<SummarizeResponse> {
    return this.unwrap(ops.summarizeText({ client: this.client, body }));
  }

  /** The models this deployment serves. */
  listModels(): Promise<ModelList> {
    return this.unwrap(ops.listModels({ client: this.client }));
  }

  // -- tenants, keys, limits, usage and billing -------------------------------
  // Tenants, keys and usage totals are typed by the interfaces above (the
  // server's shapes, also in openapi/stratus.json); limits, invoices and
  // usage events use the generated types. `requestJson` reaches any other
  // JSON route with the same key, retries and typed errors.

  /** Any JSON route, with the key, the retries and the typed errors. */
  async requestJson<T>(method: string, path: string, options: { body?: unknown; query?: Record<string, string> } = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    } catch (e) {
      throw new APIConnectionError(e);
    }
    if (!response.ok) throw await StratusError.from(response);
    return (await response.json()) as T;
  }

  /** Create a tenant (`POST /v1/admin/tenants`; an `admin` key). */
  createTenant(name: string): Promise<Tenant> {
    return this.requestJson('POST', '/v1/admin/tenants', { body: { name } });
  }

  /** Create a key of tenant `tenantId` (`POST /v1/admin/tenants/{id}/keys`; an `admin` key). */
  createTenantKey(tenantId: string, scopes: string[], name?: string): Promise<CreatedKey> {
    return this.requestJson('POST', `/v1/admin/tenants/${encodeURIComponent(tenantId)}/keys`, { body: { scopes, name } });
  }

  /** Create a key of the caller's own tenant (`POST /v1/keys`; a `keys` key). */
  createKey(scopes: string[], name?: string): Promise<CreatedKey> {
    return this.requestJson('POST', '/v1/keys', { body: { scopes, name } });
  }

  /** Set a tenant's limits, in effect at once (`PUT /v1/admin/tenants/{id}/limits`; an `admin` key). */
  setTenantLimits(tenantId: string, limits: LimitSpec): Promise<LimitsView> {
    return this.unwrap(ops.setTenantLimits({ client: this.client, path: { tenant_id: tenantId }, body: limits }));
  }

  /** The tenant's monthly invoices, newest first, the current month a draft (`billing:read`). */
  listInvoices(): Promise<InvoiceList> {
    return this.unwrap(ops.listInvoices({ client: this.client }));
  }

  /** One invoice by id (`inv_…`). */
  getInvoice(id: string): Promise<Invoice> {
    return this.unwrap(ops.getInvoice({ client: this.client, path: { id } }));
  }

  /** One invoice as CSV, a row per line item. */
  async invoiceCsv(id: string): Promise<string> {
    const url = new URL(`${this.baseUrl}/v1/billing/invoices/${encodeURIComponent(id)}`);
    url.searchParams.set('format', 'csv');
    return (await this.get(url, 'text/csv')).text();
  }

  /**
   * Every usage event of the tenant (`GET /v1/usage/events`, NDJSON; a
   * `usage:read` key), oldest first, page by page with the cursor the
   * server sends; `start`/`end` narrow it.
   */
  async *usageEvents(query: { start?: string; end?: string; pageSize?: number } = {}): AsyncGenerator<UsageEvent> {
    let cursor: string | null = null;
    for (;;) {
      const url = new URL(`${this.baseUrl}/v1/usage/events`);
      if (query.start) url.searchParams.set('start', query.start);
      if (query.end) url.searchParams.set('end', query.end);
      url.searchParams.set('limit', String(query.pageSize ?? 1000));
      if (cursor !== null) url.searchParams.set('cursor', cursor);
      const response = await this.get(url, 'application/x-ndjson');
      for (const line of (await response.text()).split('\n')) {
        if (line.trim()) yield JSON.parse(line) as UsageEvent;
      }
      cursor = response.headers.get('x-stratus-cursor');
      if (response.headers.get('x-stratus-has-more') !== 'true' || cursor === null) return;
    }
  }

  private async get(url: URL, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let response: Response;
    try {
      response = await this.fetch(url, { method: 'GET', headers });
    } catch (e) {
      throw new APIConnectionError(e);
    }
    if (!response.ok) throw await StratusError.from(response);
    return response;
  }

  /** The tenant's usage (`GET /v1/usage`; a `usage:read` key). */
  usage(query: { start?: string; end?: string; bucket?: 'day' | 'hour'; group_by?: string } = {}): Promise<UsageReport> {
    return this.requestJson('GET', '/v1/usage', { query: query as Record<string, string> });
  }
}

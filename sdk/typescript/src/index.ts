/**
 * The friendly face of the generated client (src/generated, from
 * openapi/stratus.json), shaped like OpenAI's Node SDK: API key, base URL,
 * timeouts, retries on 429/503 honouring Retry-After and `x-should-retry`,
 * typed errors carrying the error envelope, results typed by
 * `response_format`, streamed transcription (server-sent events), jobs
 * with `wait`, pages as async iterators, and the raw answer of every call
 * (`.withResponse()`, `.asResponse()`). Webhook verification is
 * `@stratus/client/webhooks` (Node). Hand-written (beside src/generated, which sdk/generate writes),
 * copied beside the generated code by sdk/generate.
 */
import { createClient, createConfig } from './generated/client/index.js';
import type { Client } from './generated/client/index.js';
import * as ops from './generated/sdk.gen.js';
import type {
  AudioForm,
  AudioJob,
  AudioJobForm,
  AudioJobList,
  AudioWebhookSecret,
  ClassifyRequest,
  ClassifyResponse,
  CreatedApiKey,
  DetectRequest,
  DetectResponse,
  Embedding,
  EmbeddingItem,
  EmbeddingsRequest,
  EmbeddingsResponse,
  EncodingFormat,
  EntitiesResponse,
  Invoice,
  InvoiceList,
  KeyPhrasesRequest,
  KeyPhrasesResponse,
  LimitSpec,
  LimitsView,
  Model,
  ModelList,
  PiiRequest,
  ResponseFormatName,
  RotateAudioWebhookSecret,
  Scope,
  SentimentRequest,
  SentimentResponse,
  SummarizeRequest,
  SummarizeResponse,
  Tenant,
  TimestampGranularity,
  Transcription,
  TranscriptionVerbose,
  Usage,
  UsageEvent,
} from './generated/types.gen.js';
import { APIPromise, Page, PagePromise, Stream, connectionError, retryingFetch, sleep, transcriptionEvents } from './core.js';
import type { TranscriptionStreamEvents } from './core.js';
import { APIUserAbortError, JobFailedError, JobWaitTimeoutError, StratusError } from './errors.js';

export * from './generated/types.gen.js';
export * as operations from './generated/sdk.gen.js';
export * from './errors.js';
export {
  APIPromise,
  Page,
  PagePromise,
  Stream,
  parseDurationMs,
  parseRateLimits,
  retryDelayMs,
  retryingFetch,
  shouldRetry,
  sseData,
  sseEvents,
} from './core.js';
export type {
  RateLimit,
  RateLimits,
  TranscriptErrorEvent,
  TranscriptTextDeltaEvent,
  TranscriptTextDoneEvent,
  TranscriptionStreamEvents,
  WithResponse,
} from './core.js';

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

/** Per call: an AbortSignal (aborting throws APIUserAbortError) and extra headers. */
export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

// -- typed transcription results ----------------------------------------------

/** Any transcription result: the JSON formats typed, the text formats as written. */
export type TranscriptionResult = Transcription | TranscriptionVerbose | string;

/**
 * The result type of `response_format` F: `json` (the default) →
 * Transcription, `verbose_json` → TranscriptionVerbose (segments, and words
 * when asked for), `text`/`srt`/`vtt` → string; a format only known at run
 * time → the union.
 */
export type TranscriptionOf<F> = [F] extends [undefined | null | 'json']
  ? Transcription
  : [F] extends ['verbose_json']
    ? TranscriptionVerbose
    : [F] extends ['text' | 'srt' | 'vtt']
      ? string
      : TranscriptionResult;

type Format = ResponseFormatName | null | undefined;

/** The fields of a transcription or translation besides the file (OpenAI's names). */
export interface TranscriptionParams<F extends Format = Format> {
  /** A loaded speech model (default `whisper-1`, the server's default one). */
  model?: string;
  /** ISO-639-1 code of the spoken language; detected when omitted. */
  language?: string | null;
  prompt?: string | null;
  response_format?: F;
  temperature?: number | null;
  /** With `verbose_json`: `word` adds `words`, `segment` the segments' times. */
  timestamp_granularities?: TimestampGranularity[];
}

/** `audio.transcriptions.create` / `audio.translations.create`: the file and the fields. */
export interface TranscriptionCreateParams<F extends Format = Format> extends TranscriptionParams<F> {
  file: Blob;
  stream?: false | null;
}

/** `audio.transcriptions.create` with `stream: true`. */
export interface TranscriptionStreamParams extends Omit<TranscriptionParams, 'response_format'> {
  file: Blob;
  stream: true;
}

// -- embeddings ---------------------------------------------------------------

/** Embeddings whose vectors are `V`: `number[]` (`float`, the default) or a base64 string. */
export type EmbeddingsOf<V extends Embedding> = Omit<EmbeddingsResponse, 'data'> & {
  data: Array<Omit<EmbeddingItem, 'embedding'> & { embedding: V }>;
};

/** The vector type of `encoding_format` E. */
export type EmbeddingOf<E> = [E] extends [undefined | 'float'] ? number[] : [E] extends ['base64'] ? string : Embedding;

// -- jobs -----------------------------------------------------------------------

/** A job whose `result` (once it succeeded) is `R`. */
export type AudioJobOf<R> = Omit<AudioJob, 'result'> & { result?: R };

/** A job that succeeded, with its result. */
export type SucceededJob<R> = Omit<AudioJob, 'result' | 'status'> & { status: 'succeeded'; result: R };

/** `audio.jobs.create`: the file, the transcription fields, `task` and `webhook_url`. */
export interface AudioJobCreateParams<F extends Format = Format> extends TranscriptionParams<F> {
  file: Blob;
  /** `transcribe` (default) or `translate`. */
  task?: 'transcribe' | 'translate';
  /** Where to POST the finished job, signed (see `@stratus/client/webhooks`). */
  webhook_url?: string;
}

export interface WaitOptions {
  /** Between polls, milliseconds (default 1000). */
  pollIntervalMs?: number;
  /** Give up after this long (JobWaitTimeoutError; the job goes on). Default: no limit. */
  timeoutMs?: number;
  /** Stop waiting (APIUserAbortError; the job goes on: `audio.jobs.cancel` stops it). */
  signal?: AbortSignal;
  /** Called with the job whenever its status or progress (0 to 1) changed, the final state included. */
  onProgress?: (job: AudioJob) => void;
}

// -- the resource groups (OpenAI's shape) ------------------------------------

export interface Transcriptions {
  /** `stream: true`: the events as the audio is decoded. */
  create(body: TranscriptionStreamParams, options?: RequestOptions): APIPromise<Stream<TranscriptionStreamEvents>>;
  /** The result typed by `response_format` (see TranscriptionOf). */
  create<F extends Format = undefined>(body: TranscriptionCreateParams<F>, options?: RequestOptions): APIPromise<TranscriptionOf<F>>;
}

export interface Translations {
  /** Speech to English text (a multilingual model), typed by `response_format`. */
  create<F extends Format = undefined>(body: TranscriptionCreateParams<F>, options?: RequestOptions): APIPromise<TranscriptionOf<F>>;
}

export interface AudioJobs {
  /** Submit a job (`POST /v1/audio/jobs`): answers at once with the queued job. */
  create<F extends Format = undefined>(body: AudioJobCreateParams<F>, options?: RequestOptions): APIPromise<AudioJobOf<TranscriptionOf<F>>>;
  /** The job, with its `result` once it succeeded. */
  retrieve(id: string, options?: RequestOptions): APIPromise<AudioJob>;
  /** The tenant's jobs, newest first, without results: `for await` pages through them. */
  list(query?: { limit?: number; after?: string }, options?: RequestOptions): PagePromise<AudioJob>;
  /** Cancel a job (a finished one is returned unchanged). */
  cancel(id: string, options?: RequestOptions): APIPromise<AudioJob>;
  /**
   * Poll until the job ends: the succeeded job with its typed result, or
   * JobFailedError (failed, cancelled), JobWaitTimeoutError, APIUserAbortError.
   */
  wait<R = TranscriptionResult>(job: string | AudioJobOf<R>, options?: WaitOptions): Promise<SucceededJob<R>>;
  /** `create`, then `wait`. */
  createAndWait<F extends Format = undefined>(body: AudioJobCreateParams<F>, options?: WaitOptions): Promise<SucceededJob<TranscriptionOf<F>>>;
}

export interface WebhookSecrets {
  /** The secret the tenant's job webhooks are signed with now (`speech` scope). */
  retrieve(options?: RequestOptions): APIPromise<AudioWebhookSecret>;
  /** A new secret; the old one keeps signing for `previous_secret_valid_seconds` (`keys` scope). */
  rotate(body?: RotateAudioWebhookSecret, options?: RequestOptions): APIPromise<AudioWebhookSecret>;
}

export interface Embeddings {
  /** Vectors typed by `encoding_format`: `number[]` (default) or base64 strings. */
  create<E extends EncodingFormat | undefined = undefined>(
    body: EmbeddingsRequest & { encoding_format?: E },
    options?: RequestOptions,
  ): APIPromise<EmbeddingsOf<EmbeddingOf<E>>>;
}

export interface Models {
  list(options?: RequestOptions): APIPromise<ModelList>;
  retrieve(model: string, options?: RequestOptions): APIPromise<Model>;
}

// -- the client -------------------------------------------------------------------

type CallResult = Promise<{ error?: unknown; response?: Response }>;

const json = <T>(response: Response): Promise<T> => response.json() as Promise<T>;
const text = (response: Response): Promise<string> => response.text();

/** JSON or text, as the answer says. */
async function jsonOrText<T>(response: Response): Promise<T> {
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.text()) as T;
}

/** The multipart fields of a transcription, translation or job. */
function audioForm(file: Blob, params: TranscriptionParams & { task?: string; webhook_url?: string; stream?: boolean | null }): AudioForm & AudioJobForm {
  const { timestamp_granularities, model, ...rest } = params;
  const form = { ...rest, model: model ?? 'whisper-1', file } as AudioForm & AudioJobForm;
  // Sent as one `timestamp_granularities[]` field per value.
  if (timestamp_granularities !== undefined) {
    form['timestamp_granularities[]'] = timestamp_granularities as unknown as TimestampGranularity;
  }
  return form;
}

export class Stratus {
  /** The generated client: every operation of `operations` takes `{ client: stratus.client }`. */
  readonly client: Client;
  readonly baseUrl: string;
  readonly audio: { transcriptions: Transcriptions; translations: Translations; jobs: AudioJobs; webhookSecret: WebhookSecrets };
  readonly embeddings: Embeddings;
  readonly models: Models;
  readonly #apiKey?: string;
  readonly #fetch: typeof fetch;

  constructor(options: StratusOptions = {}) {
    // Node's environment when there is one (not in browsers).
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
    this.#apiKey = options.apiKey ?? env.STRATUS_API_KEY;
    this.baseUrl = (options.baseUrl ?? env.STRATUS_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
    this.#fetch = retryingFetch(options.fetch ?? fetch, options.maxRetries ?? 3, options.maxRetryWaitMs ?? 60_000, options.timeoutMs ?? 120_000);
    this.client = createClient(createConfig({ baseUrl: this.baseUrl, auth: this.#apiKey, fetch: this.#fetch }));

    const transcriptions = {
      create: (body: TranscriptionCreateParams | TranscriptionStreamParams, options?: RequestOptions) => {
        const { file, stream, ...params } = body;
        return stream === true ? this.#stream(file, params, options) : this.transcribe(file, params as TranscriptionParams, options);
      },
    } as Transcriptions;
    const translations: Translations = {
      create: ({ file, stream: _, ...params }, options) => this.translate(file, params, options),
    };
    const jobs: AudioJobs = {
      // The result's type follows `response_format`: the interface says which.
      create: ({ file, ...params }, options) =>
        this.#call(ops.createAudioJob({ ...this.#options(options), body: audioForm(file, params) }), json<never>, options),
      retrieve: (id, options) => this.#call(ops.getAudioJob({ ...this.#options(options), path: { id } }), json<AudioJob>, options),
      list: (query = {}, options) => {
        const page = (after: string | undefined): PagePromise<AudioJob> =>
          this.#page(ops.listAudioJobs({ ...this.#options(options), query: { limit: query.limit, after } }), options, async (response) => {
            const list = (await response.json()) as AudioJobList;
            return new Page(list.data, response, list.has_more, list.last_id ?? null, page);
          });
        return page(query.after);
      },
      cancel: (id, options) => this.#call(ops.cancelAudioJob({ ...this.#options(options), path: { id } }), json<AudioJob>, options),
      wait: (job, options) => this.#wait(typeof job === 'string' ? job : job.id, options),
      createAndWait: async (body, options = {}) => {
        const job = await jobs.create(body, { signal: options.signal });
        return jobs.wait(job, options);
      },
    };
    const webhookSecret: WebhookSecrets = {
      retrieve: (options) => this.#call(ops.getAudioWebhookSecret(this.#options(options)), json<AudioWebhookSecret>, options),
      rotate: (body, options) =>
        this.#call(ops.rotateAudioWebhookSecret({ ...this.#options(options), body }), json<AudioWebhookSecret>, options),
    };
    this.audio = { transcriptions, translations, jobs, webhookSecret };
    // The vectors' type follows `encoding_format`: the interface says which.
    this.embeddings = { create: (body, options) => this.#call(ops.createEmbeddings({ ...this.#options(options), body }), json<never>, options) };
    this.models = {
      list: (options) => this.#call(ops.listModels(this.#options(options)), json<ModelList>, options),
      retrieve: (model, options) => this.#call(ops.retrieveModel({ ...this.#options(options), path: { model } }), json<Model>, options),
    };
  }

  /** What every generated call gets: this client, the body left unread (parsed here), the caller's signal and headers. */
  #options(options?: RequestOptions) {
    return { client: this.client, parseAs: 'stream' as const, signal: options?.signal, headers: options?.headers };
  }

  /** The answer of a generated call, checked: the typed error of a failure. */
  #checked(result: CallResult, options?: RequestOptions): Promise<Response> {
    return result.then(
      async ({ error, response }) => {
        // No response: the fetch itself failed (network, timeout, abort).
        if (response === undefined) throw connectionError(error, options?.signal);
        if (!response.ok) throw await StratusError.from(response, error);
        return response;
      },
      (e: unknown) => {
        throw connectionError(e, options?.signal);
      },
    );
  }

  /** Reading the body can fail too (a timeout mid-answer, a dropped connection). */
  #parser<T>(parse: (response: Response) => Promise<T>, options?: RequestOptions) {
    return async (response: Response): Promise<T> => {
      try {
        return await parse(response);
      } catch (e) {
        throw connectionError(e, options?.signal);
      }
    };
  }

  #call<T>(result: CallResult, parse: (response: Response) => Promise<T>, options?: RequestOptions): APIPromise<T> {
    return new APIPromise(this.#checked(result, options), this.#parser(parse, options));
  }

  #page<T>(result: CallResult, options: RequestOptions | undefined, parse: (response: Response) => Promise<Page<T>>): PagePromise<T> {
    return new PagePromise(this.#checked(result, options), this.#parser(parse, options));
  }

  #stream(file: Blob, params: Omit<TranscriptionParams, 'response_format'>, options?: RequestOptions): APIPromise<Stream<TranscriptionStreamEvents>> {
    const result = ops.createTranscription({ ...this.#options(options), body: audioForm(file, { ...params, stream: true }) });
    return this.#call(result, async (response) => new Stream(response, transcriptionEvents(response, options?.signal)), options);
  }

  async #wait<R>(id: string, options: WaitOptions = {}): Promise<SucceededJob<R>> {
    const { pollIntervalMs = 1000, timeoutMs, signal, onProgress } = options;
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    let seen = '';
    for (;;) {
      const job = await this.audio.jobs.retrieve(id, { signal });
      const state = `${job.status} ${job.progress}`;
      if (state !== seen) {
        seen = state;
        onProgress?.(job);
      }
      if (job.status === 'succeeded') return job as SucceededJob<R>;
      if (job.status === 'failed' || job.status === 'cancelled') throw new JobFailedError(job);
      const left = deadline - Date.now();
      if (left <= 0) throw new JobWaitTimeoutError(job, timeoutMs!);
      try {
        await sleep(Math.min(pollIntervalMs, left), signal);
      } catch (e) {
        throw new APIUserAbortError(e);
      }
    }
  }

  // -- audio ------------------------------------------------------------------

  /**
   * Transcribe audio (a Blob/File, multipart upload): the result is typed by
   * `response_format` (json → Transcription, verbose_json →
   * TranscriptionVerbose, text/srt/vtt → string).
   */
  transcribe<F extends Format = undefined>(file: Blob, params: TranscriptionParams<F> = {}, options?: RequestOptions): APIPromise<TranscriptionOf<F>> {
    return this.#call(ops.createTranscription({ ...this.#options(options), body: audioForm(file, params) }), jsonOrText<TranscriptionOf<F>>, options);
  }

  /** Translate speech into English text (a multilingual model), typed like `transcribe`. */
  translate<F extends Format = undefined>(file: Blob, params: TranscriptionParams<F> = {}, options?: RequestOptions): APIPromise<TranscriptionOf<F>> {
    return this.#call(ops.createTranslation({ ...this.#options(options), body: audioForm(file, params) }), jsonOrText<TranscriptionOf<F>>, options);
  }

  /**
   * Transcribe with `stream=true`: yields each event as the audio is decoded
   * (`transcript.text.delta`, then one `transcript.text.done`); an `error`
   * event throws StreamError, a stream cut short APIConnectionError.
   */
  async *streamTranscription(
    file: Blob,
    params: Omit<TranscriptionParams, 'response_format'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<TranscriptionStreamEvents> {
    yield* await this.#stream(file, params, options);
  }

  // -- language ---------------------------------------------------------------

  /** Embeddings of one text or a list (`embeddings.create`). */
  embed<E extends EncodingFormat | undefined = undefined>(
    body: EmbeddingsRequest & { encoding_format?: E },
    options?: RequestOptions,
  ): APIPromise<EmbeddingsOf<EmbeddingOf<E>>> {
    return this.embeddings.create(body, options);
  }

  /** The language of each document. */
  detectLanguage(body: DetectRequest, options?: RequestOptions): APIPromise<DetectResponse> {
    return this.#call(ops.detectLanguage({ ...this.#options(options), body }), json<DetectResponse>, options);
  }

  /** Personal data in each document, and its redacted text. */
  redactPii(body: PiiRequest, options?: RequestOptions): APIPromise<EntitiesResponse> {
    return this.#call(ops.redactPii({ ...this.#options(options), body }), json<EntitiesResponse>, options);
  }

  /** Named entities of each document. */
  recognizeEntities(body: PiiRequest, options?: RequestOptions): APIPromise<EntitiesResponse> {
    return this.#call(ops.recognizeEntities({ ...this.#options(options), body }), json<EntitiesResponse>, options);
  }

  /** Key phrases of each document. */
  extractKeyPhrases(body: KeyPhrasesRequest, options?: RequestOptions): APIPromise<KeyPhrasesResponse> {
    return this.#call(ops.extractKeyPhrases({ ...this.#options(options), body }), json<KeyPhrasesResponse>, options);
  }

  /** Labels of each document. */
  classify(body: ClassifyRequest, options?: RequestOptions): APIPromise<ClassifyResponse> {
    return this.#call(ops.classifyText({ ...this.#options(options), body }), json<ClassifyResponse>, options);
  }

  /** The sentiment of each document and its sentences. */
  analyzeSentiment(body: SentimentRequest, options?: RequestOptions): APIPromise<SentimentResponse> {
    return this.#call(ops.analyzeSentiment({ ...this.#options(options), body }), json<SentimentResponse>, options);
  }

  /** A summary of each document. */
  summarize(body: SummarizeRequest, options?: RequestOptions): APIPromise<SummarizeResponse> {
    return this.#call(ops.summarizeText({ ...this.#options(options), body }), json<SummarizeResponse>, options);
  }

  /** The models this deployment serves (`models.list`). */
  listModels(options?: RequestOptions): APIPromise<ModelList> {
    return this.models.list(options);
  }

  // -- tenants, keys, limits, usage and billing -------------------------------

  /** Create a tenant (`POST /v1/admin/tenants`; an `admin` key). */
  createTenant(name: string, options?: RequestOptions): APIPromise<Tenant> {
    return this.#call(ops.createTenant({ ...this.#options(options), body: { name } }), json<Tenant>, options);
  }

  /** Create a key of tenant `tenantId` (`POST /v1/admin/tenants/{id}/keys`; an `admin` key); its `secret` is shown this once. */
  createTenantKey(tenantId: string, scopes: Scope[], name?: string, options?: RequestOptions): APIPromise<CreatedApiKey> {
    const call = ops.createTenantKey({ ...this.#options(options), path: { tenant_id: tenantId }, body: { scopes, name } });
    return this.#call(call, json<CreatedApiKey>, options);
  }

  /** Create a key of the caller's own tenant (`POST /v1/keys`; a `keys` key). */
  createKey(scopes: Scope[], name?: string, options?: RequestOptions): APIPromise<CreatedApiKey> {
    return this.#call(ops.createKey({ ...this.#options(options), body: { scopes, name } }), json<CreatedApiKey>, options);
  }

  /** Set a tenant's limits, in effect at once (`PUT /v1/admin/tenants/{id}/limits`; an `admin` key). */
  setTenantLimits(tenantId: string, limits: LimitSpec, options?: RequestOptions): APIPromise<LimitsView> {
    const call = ops.setTenantLimits({ ...this.#options(options), path: { tenant_id: tenantId }, body: limits });
    return this.#call(call, json<LimitsView>, options);
  }

  /** The tenant's monthly invoices, newest first, the current month a draft (`billing:read`). */
  listInvoices(options?: RequestOptions): APIPromise<InvoiceList> {
    return this.#call(ops.listInvoices(this.#options(options)), json<InvoiceList>, options);
  }

  /** One invoice by id (`inv_…`). */
  getInvoice(id: string, options?: RequestOptions): APIPromise<Invoice> {
    return this.#call(ops.getInvoice({ ...this.#options(options), path: { id } }), json<Invoice>, options);
  }

  /** One invoice as CSV, a row per line item. */
  invoiceCsv(id: string, options?: RequestOptions): APIPromise<string> {
    return this.#call(ops.getInvoice({ ...this.#options(options), path: { id }, query: { format: 'csv' } }), text, options);
  }

  /** The tenant's usage: totals and per-bucket sums (`GET /v1/usage`; a `usage:read` key). */
  usage(
    query: { start?: string; end?: string; bucket?: 'day' | 'hour'; group_by?: 'model' | 'endpoint' | 'key' | 'service' | 'none' } = {},
    options?: RequestOptions,
  ): APIPromise<Usage> {
    return this.#call(ops.getUsage({ ...this.#options(options), query }), json<Usage>, options);
  }

  /**
   * The tenant's usage events (`GET /v1/usage/events`, NDJSON; a
   * `usage:read` key), oldest first: `for await` runs through every page
   * (`limit` a page) by the `x-stratus-cursor` the server sends; awaited,
   * the first page. `cursor` resumes where a page's `nextCursor` left off
   * (to follow new events later); `start`/`end` narrow it.
   */
  usageEvents(
    query: { start?: string; end?: string; limit?: number; cursor?: string; /** @deprecated use `limit` */ pageSize?: number } = {},
    options?: RequestOptions,
  ): PagePromise<UsageEvent> {
    const page = (cursor: string | undefined): PagePromise<UsageEvent> => {
      const call = ops.listUsageEvents({
        ...this.#options(options),
        query: { start: query.start, end: query.end, limit: query.limit ?? query.pageSize, cursor },
      });
      return this.#page(call, options, async (response) => {
        const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
        const events = lines.map((line) => JSON.parse(line) as UsageEvent);
        const more = response.headers.get('x-stratus-has-more') === 'true';
        return new Page(events, response, more, response.headers.get('x-stratus-cursor'), page);
      });
    };
    return page(query.cursor);
  }

  /** Any JSON route, with the key, the retries and the typed errors. */
  requestJson<T>(method: string, path: string, request: { body?: unknown; query?: Record<string, string> } & RequestOptions = {}): APIPromise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const result = this.#fetch(url, { method, headers, body, signal: request.signal }).then(
      (response) => ({ response }),
      (error: unknown) => ({ error, response: undefined }),
    );
    return this.#call(result, (response) => (response.status === 204 ? Promise.resolve(undefined as T) : json<T>(response)), request);
  }
}

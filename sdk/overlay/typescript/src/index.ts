/**
 * The friendly face of the generated client (src/generated, from
 * openapi/stratus.json): API key, base URL, timeouts, retries on 429/503
 * honouring Retry-After, and StratusError carrying the error envelope.
 * Hand-written (sdk/overlay/typescript), copied beside the generated code
 * by sdk/generate.
 */
import { createClient, createConfig } from './generated/client/index.js';
import type { Client } from './generated/client/index.js';
import * as ops from './generated/sdk.gen.js';
import type { AudioForm, EmbeddingsRequest, ErrorBody } from './generated/types.gen.js';

export * from './generated/types.gen.js';
export * as operations from './generated/sdk.gen.js';

export interface StratusOptions {
  /** `sk_…`; default `process.env.STRATUS_API_KEY`. */
  apiKey?: string;
  /** Default `process.env.STRATUS_BASE_URL` or `http://127.0.0.1:8080`. */
  baseUrl?: string;
  /** Per attempt, milliseconds (default 120 000). */
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
  readonly retryAfter?: number;
  readonly error: Partial<ErrorBody>;

  constructor(status: number, error: Partial<ErrorBody>, headers?: Headers) {
    super(`${status} ${error.type ?? 'error'}: ${error.message ?? ''}`);
    this.name = 'StratusError';
    this.status = status;
    this.error = error;
    this.type = error.type;
    this.param = error.param;
    this.code = error.code;
    const after = headers?.get('retry-after');
    this.retryAfter = after != null && /^\d+$/.test(after) ? Number(after) : undefined;
  }

  static async from(response: Response, body?: unknown): Promise<StratusError> {
    let envelope = body as { error?: Partial<ErrorBody> } | undefined;
    if (envelope?.error === undefined) {
      try {
        envelope = (await response.clone().json()) as { error?: Partial<ErrorBody> };
      } catch {
        envelope = { error: { message: `HTTP ${response.status}`, type: 'unknown' } };
      }
    }
    return new StratusError(response.status, envelope?.error ?? {}, response.headers);
  }
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

/** A fetch that resends a request answered 429/503, with a timeout per attempt. */
export function retryingFetch(inner: typeof fetch, maxRetries: number, maxWaitMs: number, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    for (let attempt = 0; ; attempt++) {
      const response = await inner(request.clone(), { signal: AbortSignal.timeout(timeoutMs) });
      if ((response.status !== 429 && response.status !== 503) || attempt >= maxRetries) return response;
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response, attempt, maxWaitMs)));
    }
  };
}

type Fields = Omit<AudioForm, 'file' | 'model'> & { model?: string };

export class Stratus {
  readonly client: Client;

  constructor(options: StratusOptions = {}) {
    // Node's environment when there is one (not in browsers).
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
    const apiKey = options.apiKey ?? env.STRATUS_API_KEY;
    const baseUrl = (options.baseUrl ?? env.STRATUS_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
    this.client = createClient(
      createConfig({
        baseUrl,
        auth: apiKey,
        fetch: retryingFetch(options.fetch ?? fetch, options.maxRetries ?? 3, options.maxRetryWaitMs ?? 60_000, options.timeoutMs ?? 120_000),
      }),
    );
  }

  private async unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const { data, error, response } = await call;
    if (!response.ok || error !== undefined) throw await StratusError.from(response, error);
    return data as T;
  }

  /** Transcribe audio (a Blob/File); fields are the form's other fields. */
  transcribe(file: Blob, fields: Fields = {}) {
    return this.unwrap(ops.createTranscription({ client: this.client, body: { model: 'whisper-1', ...fields, file } }));
  }

  /** Translate speech into English text. */
  translate(file: Blob, fields: Fields = {}) {
    return this.unwrap(ops.createTranslation({ client: this.client, body: { model: 'whisper-1', ...fields, file } }));
  }

  /** Embeddings of one text or a list. */
  embed(body: EmbeddingsRequest) {
    return this.unwrap(ops.createEmbeddings({ client: this.client, body }));
  }

  /** The models this deployment serves. */
  listModels() {
    return this.unwrap(ops.listModels({ client: this.client }));
  }
}

// Compile-time checks of the published types, compiled (never run) by
// types.test.mjs with tsc against the package as installed: each
// `Equal` must hold, and each `@ts-expect-error` line must be an error.
import { Stratus } from '@stratus/client';
import type {
  AudioJob,
  Page,
  PagePromise,
  SucceededJob,
  Transcription,
  TranscriptionResult,
  TranscriptionStreamEvents,
  TranscriptionVerbose,
  UsageEvent,
  WithResponse,
} from '@stratus/client';
import { unwrapWebhook, verifyWebhookSignature } from '@stratus/client/webhooks';
import type { WebhookEvent } from '@stratus/client/webhooks';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function holds<T extends true>(): T | void {}

declare const stratus: Stratus;
declare const file: Blob;
declare const format: 'json' | 'text';

export async function typed(): Promise<void> {
  // Results follow response_format.
  const json = await stratus.transcribe(file);
  holds<Equal<typeof json, Transcription>>();
  const verbose = await stratus.transcribe(file, { response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
  holds<Equal<typeof verbose, TranscriptionVerbose>>();
  const words: number | undefined = verbose.words?.[0]?.start;
  void words;
  for (const f of ['text', 'srt', 'vtt'] as const) {
    const written = await stratus.transcribe(file, { response_format: f });
    holds<Equal<typeof written, string>>();
  }
  const either = await stratus.transcribe(file, { response_format: format });
  holds<Equal<typeof either, TranscriptionResult>>();
  // @ts-expect-error json is an object, not a string
  const notText: string = await stratus.transcribe(file, { response_format: 'json' });
  void notText;
  // @ts-expect-error not a response_format
  await stratus.transcribe(file, { response_format: 'xml' });
  const created = await stratus.audio.transcriptions.create({ file, model: 'whisper-1', response_format: 'verbose_json' });
  holds<Equal<typeof created, TranscriptionVerbose>>();
  const translated = await stratus.audio.translations.create({ file, response_format: 'text' });
  holds<Equal<typeof translated, string>>();

  // Streams: a discriminated union on `type`.
  const stream = await stratus.audio.transcriptions.create({ file, stream: true });
  for await (const event of stream) {
    holds<Equal<typeof event, TranscriptionStreamEvents>>();
    if (event.type === 'transcript.text.delta') {
      const delta: string = event.delta;
      void delta;
    } else {
      const seconds: number = event.usage.seconds;
      void seconds;
      // @ts-expect-error a done event has no delta
      void event.delta;
    }
  }

  // Embeddings by encoding_format.
  const floats = await stratus.embeddings.create({ input: 'a', model: 'm' });
  holds<Equal<(typeof floats.data)[number]['embedding'], number[]>>();
  const packed = await stratus.embed({ input: 'a', model: 'm', encoding_format: 'base64' });
  holds<Equal<(typeof packed.data)[number]['embedding'], string>>();

  // Jobs: the result typed from the format asked at submit.
  const job = await stratus.audio.jobs.create({ file, response_format: 'verbose_json' });
  const done = await stratus.audio.jobs.wait(job, { timeoutMs: 1000, onProgress: (j: AudioJob) => void j.progress });
  holds<Equal<typeof done, SucceededJob<TranscriptionVerbose>>>();
  const text = await stratus.audio.jobs.createAndWait({ file, response_format: 'srt' });
  holds<Equal<typeof text.result, string>>();
  const byId = await stratus.audio.jobs.wait('job_1');
  holds<Equal<typeof byId.result, TranscriptionResult>>();

  // Pages: awaited, the first page; iterated, every item.
  const events = stratus.usageEvents({ limit: 10 });
  holds<Equal<typeof events, PagePromise<UsageEvent>>>();
  const first = await events;
  holds<Equal<typeof first, Page<UsageEvent>>>();
  const cursor: string | null = first.nextCursor;
  void cursor;
  for await (const event of stratus.usageEvents()) holds<Equal<typeof event, UsageEvent>>();
  for await (const j of stratus.audio.jobs.list({ limit: 5 })) holds<Equal<typeof j, AudioJob>>();

  // The raw answer.
  const raw = await stratus.listInvoices().withResponse();
  holds<Equal<typeof raw, WithResponse<Awaited<ReturnType<Stratus['listInvoices']>>>>>();
  const requestId: string | null = raw.requestId;
  const remaining: number | undefined = raw.rateLimits.requests?.remaining;
  const response: Response = await stratus.usage().asResponse();
  void [requestId, remaining, response];
  const subtotal: number = (await stratus.getInvoice('inv_1')).subtotal_nanos;
  const audioSeconds: number = (await stratus.usage()).totals.audio_seconds;
  void [subtotal, audioSeconds];

  // Webhooks.
  const body = '{}';
  verifyWebhookSignature(body, 't=1,v1=00', 'whsec_x', { toleranceSeconds: 60 });
  const hook = unwrapWebhook(new TextEncoder().encode(body), new Headers(), 'whsec_x');
  holds<Equal<typeof hook, WebhookEvent>>();
  holds<Equal<typeof hook.type, 'audio.job.succeeded' | 'audio.job.failed'>>();
}

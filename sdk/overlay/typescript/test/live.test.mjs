// The TypeScript SDK against a live `stratus serve`, run by
// services/stratus/tests/sdk_typescript.rs (whisper-tiny.en, whisper-base,
// all-minilm-l6-v2, lid-176; job webhooks signed and allowed to
// http://127.0.0.1) with STRATUS_BASE_URL, STRATUS_ADMIN_KEY (a key with
// the `admin` scope) and STRATUS_TEST_AUDIO (a real English speech WAV).
// Skipped when STRATUS_BASE_URL is not set (`npm test` alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as sdk from '@stratus/client';
import { unwrapWebhook, verifyWebhookSignature, WebhookVerificationError } from '@stratus/client/webhooks';

const BASE_URL = process.env.STRATUS_BASE_URL;
const live = { skip: BASE_URL ? false : 'STRATUS_BASE_URL is not set (see services/stratus/tests/sdk_typescript.rs)' };

const words = (text) => text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, '').split(/\s+/).filter(Boolean).join(' ');
/** The letters and digits only, so word splits (`ill-disposed`) do not matter. */
const letters = (text) => words(text).replace(/\s/g, '');
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function audio() {
  const path = process.env.STRATUS_TEST_AUDIO;
  return new File([await readFile(path)], basename(path), { type: 'audio/wav' });
}

const admin = () => new sdk.Stratus({ apiKey: process.env.STRATUS_ADMIN_KEY, baseUrl: BASE_URL });

/** A client with a key made over the admin API for a tenant of its own (its limits set first when given). */
async function client(name, scopes = ['speech', 'language', 'usage:read'], limits = undefined, options = {}) {
  const tenant = await admin().createTenant(`sdk-ts-${name}-${randomUUID().slice(0, 12)}`);
  if (limits) await admin().setTenantLimits(tenant.id, limits);
  const key = await admin().createTenantKey(tenant.id, scopes, 'sdk test');
  assert.match(key.secret, /^sk_/);
  assert.equal(key.tenant_id, tenant.id);
  const stratus = new sdk.Stratus({ apiKey: key.secret, baseUrl: BASE_URL, timeoutMs: 300_000, ...options });
  stratus.tenantId = tenant.id;
  return stratus;
}

/** Every usage event of the tenant once there are at least `count` (metering may record a moment after the answer). */
async function eventsAtLeast(stratus, count, query = {}) {
  let events = [];
  for (let i = 0; i < 100 && events.length < count; i++) {
    if (i > 0) await pause(100);
    events = [];
    for await (const event of stratus.usageEvents(query)) events.push(event);
  }
  return events;
}

test('transcribes a WAV upload in each response_format, typed, with word and segment timestamps', live, async () => {
  const stratus = await client('transcribe');
  const file = await audio();
  const json = await stratus.transcribe(file);
  assert.ok(words(json.text).includes('young man'), json.text);
  assert.equal(json.usage.type, 'duration');
  assert.ok(json.usage.seconds > 2);

  const text = await stratus.transcribe(file, { response_format: 'text' });
  assert.equal(typeof text, 'string');
  assert.equal(words(text), words(json.text));
  const srt = await stratus.transcribe(file, { response_format: 'srt' });
  assert.match(srt, /^1\r?\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\r?\n/);
  const vtt = await stratus.audio.transcriptions.create({ file, model: 'whisper-tiny.en', response_format: 'vtt' });
  assert.ok(vtt.startsWith('WEBVTT'), vtt);
  assert.match(vtt, /\n(\d\d:)?\d\d:\d\d\.\d{3} --> (\d\d:)?\d\d:\d\d\.\d{3}\n/);

  const verbose = await stratus.transcribe(file, { response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
  assert.equal(verbose.task, 'transcribe');
  assert.equal(verbose.language, 'english');
  assert.ok(verbose.duration > 2 && verbose.duration < 10, String(verbose.duration));
  assert.ok(words(verbose.text).includes('young man'), verbose.text);
  assert.ok(verbose.segments.length > 0);
  for (const segment of verbose.segments) {
    assert.ok(segment.start >= 0 && segment.start < segment.end && segment.end <= verbose.duration + 0.5, JSON.stringify(segment));
  }
  assert.equal(letters(verbose.segments.map((s) => s.text).join(' ')), letters(verbose.text));
  // One timed word per word of the text, in order, inside the audio.
  assert.ok(Array.isArray(verbose.words) && verbose.words.length > 3, JSON.stringify(verbose.words));
  assert.equal(letters(verbose.words.map((w) => w.word).join(' ')), letters(verbose.text));
  let last = 0;
  for (const word of verbose.words) {
    assert.ok(word.start <= word.end && word.start >= last - 0.01 && word.end <= verbose.duration + 0.5, JSON.stringify(word));
    last = word.start;
  }
});

test('translates with a multilingual model and refuses an English-only one', live, async () => {
  const stratus = await client('translate');
  const file = await audio();
  const translated = await stratus.translate(file, { model: 'whisper-base' });
  assert.ok(words(translated.text).includes('young man'), translated.text);
  await assert.rejects(stratus.audio.translations.create({ file, model: 'whisper-tiny.en' }), (e) => {
    assert.ok(e instanceof sdk.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, 'model');
    assert.match(e.message, /multilingual/);
    return true;
  });
});

test('streams a transcription as typed events', live, async () => {
  const stratus = await client('stream');
  const file = await audio();
  const events = [];
  for await (const event of stratus.streamTranscription(file)) events.push(event);
  const done = events.pop();
  assert.ok(events.length > 0);
  assert.ok(events.every((e) => e.type === 'transcript.text.delta'));
  assert.equal(done.type, 'transcript.text.done');
  assert.equal(events.map((e) => e.delta).join('').trim(), done.text.trim());
  assert.ok(words(done.text).includes('young man'), done.text);
  assert.ok(done.usage.seconds > 2);

  const stream = await stratus.audio.transcriptions.create({ file, stream: true });
  assert.match(stream.response.headers.get('content-type'), /^text\/event-stream/);
  const types = [];
  for await (const event of stream) types.push(event.type);
  assert.equal(types.at(-1), 'transcript.text.done');
});

test('embeds (floats and base64), detects language, redacts PII, lists models, then reads usage', live, async () => {
  const stratus = await client('language');
  const embeddings = await stratus.embeddings.create({ input: ['a cat', 'a dog'], model: 'all-minilm-l6-v2' });
  assert.equal(embeddings.data.length, 2);
  assert.equal(embeddings.data[0].embedding.length, 384);
  assert.ok(embeddings.usage.prompt_tokens > 0);
  const packed = await stratus.embed({ input: 'a cat', model: 'all-minilm-l6-v2', encoding_format: 'base64' });
  const bytes = Buffer.from(packed.data[0].embedding, 'base64');
  const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  assert.equal(decoded.length, 384);
  decoded.forEach((v, i) => assert.ok(Math.abs(v - embeddings.data[0].embedding[i]) < 1e-5, `${i}: ${v}`));
  const detected = await stratus.detectLanguage({ input: ['Bonjour tout le monde, comment allez-vous ?'] });
  assert.equal(detected.data[0].language, 'fr');
  const redacted = await stratus.redactPii({ input: 'Write to ana@example.com today.', redaction: 'type' });
  assert.ok(redacted.data[0].redacted_text.includes('[EMAIL]'), redacted.data[0].redacted_text);
  const models = await stratus.models.list();
  assert.ok(models.data.some((m) => m.id === 'whisper-tiny.en'));
  const model = await stratus.models.retrieve('all-minilm-l6-v2');
  assert.equal(model.id, 'all-minilm-l6-v2');
  assert.equal(model.service, 'language');
  // Metering may record a moment after the answer: poll briefly.
  let usage = await stratus.usage();
  for (let i = 0; i < 50 && usage.totals.documents < 5; i++) {
    await pause(200);
    usage = await stratus.usage();
  }
  assert.equal(usage.tenant_id, stratus.tenantId);
  assert.ok(usage.totals.requests >= 4, JSON.stringify(usage));
  assert.ok(usage.totals.documents >= 5, JSON.stringify(usage));
  assert.ok(usage.totals.characters > 0, JSON.stringify(usage));
  assert.ok(usage.totals.input_tokens > 0, JSON.stringify(usage));
});

test('a bad key and a bad field are typed errors with the envelope and the request id', live, async () => {
  const bad = new sdk.Stratus({ apiKey: 'sk_not_a_real_key', baseUrl: BASE_URL });
  await assert.rejects(bad.listModels(), (e) => {
    assert.ok(e instanceof sdk.AuthenticationError);
    assert.equal(e.status, 401);
    assert.equal(e.type, 'authentication_error');
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
  const stratus = await client('errors');
  await assert.rejects(stratus.transcribe(await audio(), { temperature: 7 }), (e) => {
    assert.ok(e instanceof sdk.BadRequestError);
    assert.equal(e.param, 'temperature');
    assert.equal(e.type, 'invalid_request_error');
    assert.ok(e.requestId, 'no x-request-id on the error');
    return true;
  });
  await assert.rejects(stratus.embed({ input: 'hello', model: 'no-such-model' }), (e) => {
    assert.ok(e instanceof sdk.NotFoundError);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
});

test('a rate limit is a typed error with Retry-After', live, async () => {
  // No retries: the 429 itself reaches the caller.
  const stratus = await client('limited', ['language'], { requests_per_minute: 2 }, { maxRetries: 0 });
  await stratus.detectLanguage({ input: ['Guten Morgen, wie geht es dir heute?'] });
  await stratus.detectLanguage({ input: ['Bonjour tout le monde.'] });
  await assert.rejects(stratus.detectLanguage({ input: ['Good morning to you all.'] }), (e) => {
    assert.ok(e instanceof sdk.RateLimitError);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.ok(e.retryAfter > 0, String(e.retryAfter));
    assert.equal(e.headers.get('x-ratelimit-remaining-requests'), '0');
    return true;
  });
});

test('raw answers: the request id (also in the usage event) and the rate-limit headers', live, async () => {
  const stratus = await client('raw', ['speech', 'language', 'usage:read'], {
    requests_per_minute: 1000,
    tokens_per_minute: 100_000,
    audio_seconds_per_minute: 10_000,
  });
  const { data, response, requestId, rateLimits } = await stratus.detectLanguage({ input: ['Hola a todos, buenos días.'] }).withResponse();
  assert.equal(data.data[0].language, 'es');
  assert.equal(response.status, 200);
  assert.match(requestId, /\S{8,}/);
  assert.equal(rateLimits.requests.limit, 1000);
  assert.ok(rateLimits.requests.remaining < 1000, JSON.stringify(rateLimits));
  assert.equal(rateLimits.tokens.limit, 100_000);
  assert.ok(typeof rateLimits.requests.resetMs === 'number', JSON.stringify(rateLimits));
  assert.equal(rateLimits.audioSeconds, undefined);

  const speech = await stratus.transcribe(await audio(), { response_format: 'text' }).withResponse();
  assert.equal(speech.rateLimits.audioSeconds.limit, 10_000);
  assert.ok(Number(speech.response.headers.get('x-stratus-usage-audio-seconds')) > 2);

  // The raw answer, body unread.
  const raw = await stratus.models.list().asResponse();
  assert.equal(raw.status, 200);
  assert.equal(raw.bodyUsed, false);
  assert.ok((await raw.json()).data.length > 0);

  // The gateway's request id is what metering recorded for that request.
  const events = await eventsAtLeast(stratus, 2);
  assert.ok(events.some((e) => e.request_id === requestId && e.endpoint.includes('language')), JSON.stringify(events));
  assert.ok(events.some((e) => e.request_id === speech.requestId), JSON.stringify(events));
});

test('usage events page by the cursor headers, and resume from the last cursor', live, async () => {
  const stratus = await client('paged', ['language', 'usage:read']);
  const texts = ['Guten Morgen, wie geht es dir?', 'Bonjour tout le monde.', 'Buenos días a todos.'];
  for (const text of texts) await stratus.detectLanguage({ input: [text] });
  const all = await eventsAtLeast(stratus, 3);
  assert.equal(all.length, 3, JSON.stringify(all));

  // One a page: the first page, awaited.
  const first = await stratus.usageEvents({ limit: 1 });
  assert.equal(first.data.length, 1);
  assert.equal(first.hasMore, true);
  assert.ok(first.hasNextPage());
  assert.equal(first.response.headers.get('x-stratus-has-more'), 'true');
  assert.equal(first.nextCursor, first.response.headers.get('x-stratus-cursor'));
  const second = await first.getNextPage();
  assert.deepEqual(second.data.map((e) => e.id), [all[1].id]);

  // Every page, then every item across pages: the same events in order.
  const pages = [];
  for await (const page of first.iterPages()) pages.push(page);
  assert.ok(pages.length >= 3, String(pages.length));
  assert.deepEqual(pages.flatMap((p) => p.data.map((e) => e.id)), all.map((e) => e.id));
  const iterated = [];
  for await (const event of stratus.usageEvents({ limit: 1 })) iterated.push(event);
  assert.deepEqual(iterated.map((e) => e.id), all.map((e) => e.id));
  assert.deepEqual(all.map((e) => e.units.characters), texts.map((t) => t.length));

  // Following: the last page's cursor gives only what came after.
  const cursor = pages.at(-1).nextCursor;
  assert.ok(cursor);
  assert.deepEqual((await stratus.usageEvents({ cursor })).data, []);
  const { requestId } = await stratus.detectLanguage({ input: ['Good evening, everyone.'] }).withResponse();
  const after = await eventsAtLeast(stratus, 1, { cursor });
  assert.equal(after.length, 1, JSON.stringify(after));
  assert.equal(after[0].request_id, requestId);
});

test('jobs: submit, wait with progress, the typed result; pages of jobs', live, async () => {
  const stratus = await client('jobs');
  const file = await audio();
  const job = await stratus.audio.jobs.create({ file, model: 'whisper-tiny.en', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
  assert.equal(typeof job.id, 'string');
  assert.ok(job.id.length > 0);
  assert.ok(['queued', 'running'].includes(job.status), job.status);
  assert.equal(job.result, undefined);
  const progress = [];
  const done = await stratus.audio.jobs.wait(job, { pollIntervalMs: 100, timeoutMs: 120_000, onProgress: (j) => progress.push([j.status, j.progress]) });
  assert.equal(done.status, 'succeeded');
  assert.equal(done.result.task, 'transcribe');
  assert.ok(words(done.result.text).includes('young man'), done.result.text);
  assert.ok(done.result.segments.length > 0);
  assert.ok(done.usage.seconds > 2);
  assert.deepEqual(progress.at(-1), ['succeeded', 1]);
  progress.reduce((previous, [, p]) => (assert.ok(p >= previous, JSON.stringify(progress)), p), 0);

  const srt = await stratus.audio.jobs.createAndWait({ file, response_format: 'srt' }, { pollIntervalMs: 100, timeoutMs: 120_000 });
  assert.equal(typeof srt.result, 'string');
  assert.match(srt.result, /^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);

  // Newest first, a page each, without results.
  const listed = [];
  for await (const j of stratus.audio.jobs.list({ limit: 1 })) listed.push(j);
  assert.deepEqual(listed.map((j) => j.id), [srt.id, job.id]);
  assert.ok(listed.every((j) => j.result === undefined));
  const cancelled = await stratus.audio.jobs.cancel(job.id);
  assert.equal(cancelled.status, 'succeeded', 'a finished job is returned unchanged');
  await assert.rejects(stratus.audio.jobs.retrieve(randomUUID()), (e) => e instanceof sdk.NotFoundError && e.code === 'job_not_found');
});

test('a job webhook arrives signed and verifies; tampered, expired and foreign ones do not', live, async () => {
  const stratus = await client('webhook');
  const deliveries = [];
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const { secret } = await stratus.audio.webhookSecret.retrieve();
    assert.match(secret, /^whsec_[0-9a-f]{64}$/);
    const job = await stratus.audio.jobs.create({ file: await audio(), webhook_url: `http://127.0.0.1:${receiver.address().port}/hook` });
    await stratus.audio.jobs.wait(job, { pollIntervalMs: 100, timeoutMs: 120_000 });
    for (let i = 0; i < 100 && deliveries.length === 0; i++) await pause(100);
    assert.equal(deliveries.length, 1);
    const [{ headers, body }] = deliveries;

    const event = unwrapWebhook(body, headers, secret);
    assert.equal(event.type, 'audio.job.succeeded');
    assert.equal(event.job.id, job.id);
    assert.ok(words(event.job.result.text).includes('young man'), JSON.stringify(event.job));
    const signature = headers['x-stratus-signature'];
    verifyWebhookSignature(body.toString('utf8'), signature, secret);

    const refused = (reason) => (e) => e instanceof WebhookVerificationError && e.reason === reason;
    const tampered = Buffer.from(body.toString('utf8').replace('"succeeded"', '"failed"'));
    assert.notDeepEqual(tampered, body);
    assert.throws(() => verifyWebhookSignature(tampered, signature, secret), refused('no_matching_signature'));
    const t = Number(/t=(\d+)/.exec(signature)[1]);
    assert.throws(() => verifyWebhookSignature(body, signature, secret, { now: t + 301 }), refused('timestamp_out_of_tolerance'));
    // Another tenant's secret does not verify this tenant's delivery.
    const other = await client('webhook-other');
    const { secret: foreign } = await other.audio.webhookSecret.retrieve();
    assert.notEqual(foreign, secret);
    assert.throws(() => unwrapWebhook(body, headers, foreign), refused('no_matching_signature'));

    let seen = await stratus.audio.jobs.retrieve(job.id);
    for (let i = 0; i < 50 && seen.webhook_status !== 'delivered'; i++) {
      await pause(100);
      seen = await stratus.audio.jobs.retrieve(job.id);
    }
    assert.equal(seen.webhook_status, 'delivered');
  } finally {
    receiver.close();
  }
});

test('usage events and the draft invoice', live, async () => {
  const stratus = await client('billed', ['language', 'usage:read', 'billing:read']);
  const text = 'Guten Morgen, wie geht es dir heute?';
  await stratus.detectLanguage({ input: [text] });
  const events = await eventsAtLeast(stratus, 1, { limit: 1 });
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].tenant_id, stratus.tenantId);
  assert.equal(events[0].units.characters, text.length);
  const invoices = await stratus.listInvoices();
  const draft = invoices.data[0];
  assert.equal(draft.status, 'draft');
  assert.equal(draft.tenant_id, stratus.tenantId);
  assert.equal(draft.lines.filter((line) => line.unit === '1k_characters').length, 1, JSON.stringify(draft.lines));
  assert.equal(draft.lines.reduce((sum, line) => sum + line.amount_nanos, 0), draft.subtotal_nanos);
  assert.equal((await stratus.getInvoice(draft.id)).subtotal, draft.subtotal);
  const csv = await stratus.invoiceCsv(draft.id);
  assert.ok(csv.startsWith('invoice_id,'), csv);
  assert.ok(csv.includes('1k_characters'), csv);
});

// The TypeScript SDK against a live `stratus serve`, run by
// services/stratus/tests/sdk_typescript.rs (whisper-tiny.en, whisper-base,
// all-minilm-l6-v2, lid-176) with STRATUS_BASE_URL, STRATUS_ADMIN_KEY (a
// key with the `admin` scope) and STRATUS_TEST_AUDIO (a real English
// speech WAV). Skipped when STRATUS_BASE_URL is not set (`npm test` alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import { sdk } from './sdk.mjs';

const BASE_URL = process.env.STRATUS_BASE_URL;
const live = { skip: BASE_URL ? false : 'STRATUS_BASE_URL is not set (see services/stratus/tests/sdk_typescript.rs)' };

const words = (text) => text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, '').split(/\s+/).filter(Boolean).join(' ');

async function audio() {
  const path = process.env.STRATUS_TEST_AUDIO;
  return new File([await readFile(path)], basename(path), { type: 'audio/wav' });
}

/** A client with a key made over the admin API for a tenant of its own. */
async function client(name) {
  const admin = new sdk.Stratus({ apiKey: process.env.STRATUS_ADMIN_KEY, baseUrl: BASE_URL });
  const tenant = await admin.createTenant(`sdk-ts-${name}-${randomUUID().slice(0, 12)}`);
  const key = await admin.createTenantKey(tenant.id, ['speech', 'language', 'usage:read'], 'sdk test');
  assert.match(key.secret, /^sk_/);
  assert.equal(key.tenant_id, tenant.id);
  return new sdk.Stratus({ apiKey: key.secret, baseUrl: BASE_URL, timeoutMs: 300_000 });
}

test('transcribes a WAV upload in each format', live, async () => {
  const stratus = await client('transcribe');
  const file = await audio();
  const json = await stratus.transcribe(file);
  assert.ok(words(json.text).includes('young man'), json.text);
  assert.equal(json.usage.type, 'duration');
  assert.ok(json.usage.seconds > 2);
  const verbose = await stratus.transcribe(file, { response_format: 'verbose_json' });
  assert.equal(verbose.language, 'english');
  assert.ok(verbose.segments.length > 0);
  const vtt = await stratus.transcribe(file, { response_format: 'vtt' });
  assert.equal(typeof vtt, 'string');
  assert.ok(vtt.startsWith('WEBVTT'), vtt);
});

test('translates with a multilingual model and refuses an English-only one', live, async () => {
  const stratus = await client('translate');
  const file = await audio();
  const translated = await stratus.translate(file, { model: 'whisper-base' });
  assert.ok(words(translated.text).includes('young man'), translated.text);
  await assert.rejects(stratus.translate(file, { model: 'whisper-tiny.en' }), (e) => {
    assert.ok(e instanceof sdk.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, 'model');
    assert.match(e.message, /multilingual/);
    return true;
  });
});

test('streams a transcription', live, async () => {
  const stratus = await client('stream');
  const events = [];
  for await (const event of stratus.streamTranscription(await audio())) events.push(event);
  const done = events.pop();
  assert.ok(events.length > 0);
  assert.ok(events.every((e) => e.type === 'transcript.text.delta'));
  assert.equal(done.type, 'transcript.text.done');
  assert.equal(events.map((e) => e.delta).join('').trim(), done.text.trim());
  assert.ok(words(done.text).includes('young man'), done.text);
});

test('embeds, detects language, redacts PII, then reads usage', live, async () => {
  const stratus = await client('language');
  const embeddings = await stratus.embed({ input: ['a cat', 'a dog'], model: 'all-minilm-l6-v2' });
  assert.equal(embeddings.data.length, 2);
  assert.equal(embeddings.data[0].embedding.length, 384);
  const detected = await stratus.detectLanguage({ input: ['Bonjour tout le monde, comment allez-vous ?'] });
  assert.equal(detected.data[0].language, 'fr');
  const redacted = await stratus.redactPii({ input: 'Write to ana@example.com today.', redaction: 'type' });
  assert.ok(redacted.data[0].redacted_text.includes('[EMAIL]'), redacted.data[0].redacted_text);
  const models = await stratus.listModels();
  assert.ok(models.data.some((m) => m.id === 'whisper-tiny.en'));
  // Metering may record a moment after the answer: poll briefly.
  let usage = await stratus.usage();
  for (let i = 0; i < 50 && usage.totals.documents < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    usage = await stratus.usage();
  }
  assert.ok(usage.totals.requests >= 3, JSON.stringify(usage));
  assert.ok(usage.totals.documents >= 4, JSON.stringify(usage));
  assert.ok(usage.totals.characters > 0, JSON.stringify(usage));
});

test('a bad key and a bad field are typed errors with the envelope', live, async () => {
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
    return true;
  });
  await assert.rejects(stratus.embed({ input: 'hello', model: 'no-such-model' }), (e) => {
    assert.ok(e instanceof sdk.NotFoundError);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
});

test('a rate limit is a typed error with Retry-After', live, async () => {
  const admin = new sdk.Stratus({ apiKey: process.env.STRATUS_ADMIN_KEY, baseUrl: BASE_URL });
  const tenant = await admin.createTenant(`sdk-ts-limited-${randomUUID().slice(0, 12)}`);
  const limits = await admin.setTenantLimits(tenant.id, { requests_per_minute: 2 });
  assert.equal(limits.requests_per_minute, 2);
  const key = await admin.createTenantKey(tenant.id, ['language'], 'limited');
  // No retries: the 429 itself reaches the caller.
  const stratus = new sdk.Stratus({ apiKey: key.secret, baseUrl: BASE_URL, maxRetries: 0 });
  await stratus.detectLanguage({ input: ['Guten Morgen, wie geht es dir heute?'] });
  await stratus.detectLanguage({ input: ['Bonjour tout le monde.'] });
  await assert.rejects(stratus.detectLanguage({ input: ['Good morning to you all.'] }), (e) => {
    assert.ok(e instanceof sdk.RateLimitError);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.ok(e.retryAfter > 0, String(e.retryAfter));
    return true;
  });
});

test('usage events and the draft invoice', live, async () => {
  const admin = new sdk.Stratus({ apiKey: process.env.STRATUS_ADMIN_KEY, baseUrl: BASE_URL });
  const tenant = await admin.createTenant(`sdk-ts-billed-${randomUUID().slice(0, 12)}`);
  const key = await admin.createTenantKey(tenant.id, ['language', 'usage:read', 'billing:read'], 'billed');
  const stratus = new sdk.Stratus({ apiKey: key.secret, baseUrl: BASE_URL });
  const text = 'Guten Morgen, wie geht es dir heute?';
  await stratus.detectLanguage({ input: [text] });
  // Metering may record a moment after the answer: poll briefly.
  let events = [];
  for (let i = 0; i < 50 && events.length === 0; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    events = [];
    for await (const event of stratus.usageEvents({ pageSize: 1 })) events.push(event);
  }
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].tenant_id, tenant.id);
  assert.equal(events[0].units.characters, text.length);
  const invoices = await stratus.listInvoices();
  const draft = invoices.data[0];
  assert.equal(draft.status, 'draft');
  assert.equal(draft.tenant_id, tenant.id);
  assert.equal(draft.lines.filter((line) => line.unit === '1k_characters').length, 1, JSON.stringify(draft.lines));
  assert.equal(draft.lines.reduce((sum, line) => sum + line.amount_nanos, 0), draft.subtotal_nanos);
  assert.equal((await stratus.getInvoice(draft.id)).subtotal, draft.subtotal);
  const csv = await stratus.invoiceCsv(draft.id);
  assert.ok(csv.startsWith('invoice_id,'), csv);
  assert.ok(csv.includes('1k_characters'), csv);
});

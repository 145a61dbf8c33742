// The client's own logic over real HTTP against a scripted node:http server
// (no Stratus server needed), for the cases a live server cannot be made to
// show on demand: a job that stays running past `wait`'s timeout, one that
// fails, an abort mid-wait, a stream cut off before its last event, and
// the raw answer's headers parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as sdk from '@stratus/client';

/** A server answering each request with `handler(req, body)` → [status, headers, body]; resolves its base URL and what it got. */
async function scripted(handler) {
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const [status, headers, answer] = handler(req, body, seen.length);
      res.writeHead(status, { connection: 'close', ...headers });
      res.end(answer);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** A job as the server shows it. */
const job = (status, progress, extra = {}) => ({
  id: 'job_1',
  object: 'audio.job',
  status,
  task: 'transcribe',
  model: 'whisper-tiny.en',
  response_format: 'json',
  progress,
  attempts: 1,
  created_at: 1,
  ...extra,
});

test('withResponse and asResponse give the request id, the parsed rate limits and the unread body', async () => {
  const server = await scripted(() => [
    200,
    {
      ...JSON_TYPE,
      'x-request-id': 'req_abc',
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '990',
      'x-ratelimit-reset-tokens': '6m0.5s',
    },
    '{"object":"list","data":[]}',
  ]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base });
    const { data, response, requestId, rateLimits } = await stratus.listModels().withResponse();
    assert.deepEqual(data, { object: 'list', data: [] });
    assert.equal(response.status, 200);
    assert.equal(requestId, 'req_abc');
    assert.deepEqual(rateLimits, {
      requests: { limit: 60, remaining: 59, reset: '1s', resetMs: 1000 },
      tokens: { limit: 1000, remaining: 990, reset: '6m0.5s', resetMs: 360_500 },
    });
    const raw = await stratus.listModels().asResponse();
    assert.equal(raw.bodyUsed, false);
    assert.equal(raw.headers.get('x-request-id'), 'req_abc');
    assert.deepEqual(await raw.json(), { object: 'list', data: [] });
    assert.equal(server.seen.length, 2);
  } finally {
    server.close();
  }
});

test('jobs.wait reports progress, returns the succeeded job, and fails typed', async () => {
  const states = [job('queued', 0), job('running', 0.5), job('running', 0.5), job('succeeded', 1, { result: { text: 'hi' } })];
  const server = await scripted(() => [200, JSON_TYPE, JSON.stringify(states.shift() ?? job('failed', 1, { error: { code: 'decode_failed', message: 'bad audio' } }))]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base });
    const progress = [];
    const done = await stratus.audio.jobs.wait('job_1', { pollIntervalMs: 10, onProgress: (j) => progress.push([j.status, j.progress]) });
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.result, { text: 'hi' });
    // Called on each change only (the repeated `running 0.5` once).
    assert.deepEqual(progress, [['queued', 0], ['running', 0.5], ['succeeded', 1]]);
    assert.ok(server.seen.every((r) => r.method === 'GET' && r.url === '/v1/audio/jobs/job_1'));
    await assert.rejects(stratus.audio.jobs.wait('job_1', { pollIntervalMs: 10 }), (e) => {
      assert.ok(e instanceof sdk.JobFailedError);
      assert.equal(e.code, 'decode_failed');
      assert.equal(e.job.status, 'failed');
      return true;
    });
  } finally {
    server.close();
  }
});

test('jobs.wait gives up after timeoutMs, and stops at once when its signal aborts', async () => {
  const server = await scripted(() => [200, JSON_TYPE, JSON.stringify(job('running', 0.25))]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base });
    let started = Date.now();
    await assert.rejects(stratus.audio.jobs.wait('job_1', { pollIntervalMs: 50, timeoutMs: 300 }), (e) => {
      assert.ok(e instanceof sdk.JobWaitTimeoutError);
      assert.equal(e.job.progress, 0.25);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 3000, `${took} ms`);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    started = Date.now();
    await assert.rejects(stratus.audio.jobs.wait('job_1', { pollIntervalMs: 60_000, signal: controller.signal }), sdk.APIUserAbortError);
    assert.ok(Date.now() - started < 3000);
    await assert.rejects(stratus.audio.jobs.retrieve('job_1', { signal: AbortSignal.abort() }), sdk.APIUserAbortError);
  } finally {
    server.close();
  }
});

test('a stream that ends before transcript.text.done is a connection error; an error event a StreamError', async () => {
  const bodies = [
    'data: {"type":"transcript.text.delta","delta":"Hel"}\n\n',
    'data: {"type":"transcript.text.delta","delta":"Hel"}\n\ndata: {"type":"error","error":{"message":"decoder died","type":"server_error"}}\n\n',
  ];
  const server = await scripted(() => [200, { 'content-type': 'text/event-stream' }, bodies.shift()]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base });
    const audio = new Blob(['RIFF']);
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const event of stratus.streamTranscription(audio)) seen.push(event.type);
      })(),
      (e) => e instanceof sdk.APIConnectionError && /transcript\.text\.done/.test(e.message),
    );
    assert.deepEqual(seen, ['transcript.text.delta']);
    const stream = await stratus.audio.transcriptions.create({ file: audio, stream: true });
    assert.equal(stream.response.headers.get('content-type'), 'text/event-stream');
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (e) => e instanceof sdk.StreamError && e.message.includes('decoder died'),
    );
    assert.ok(server.seen.every((r) => r.body.includes('name="stream"\r\n\r\ntrue')));
  } finally {
    server.close();
  }
});

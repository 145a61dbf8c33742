// Retries over real HTTP: a scripted node:http server on a local port
// answers 429 and 503 (with Retry-After) before 200; the client waits what
// it is told, resends the whole multipart upload, and once the retries run
// out throws the typed error with the envelope; `x-should-retry` overrides
// the status either way. No Stratus server needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as sdk from '@stratus/client';

const ENVELOPE = '{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}';

/** Serves `answers` ([status, retryAfter, shouldRetry]) in order; resolves its base URL and the bodies it got. */
async function scripted(answers) {
  const bodies = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('latin1'));
      const [status, retryAfter, shouldRetry] = answers.shift() ?? [500, undefined];
      const headers = { 'content-type': 'application/json', connection: 'close' };
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      if (shouldRetry !== undefined) headers['x-should-retry'] = shouldRetry;
      res.writeHead(status, headers);
      res.end(status === 200 ? '{"text":"hello","usage":{"type":"duration","seconds":1}}' : ENVELOPE);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, bodies, close: () => server.close() };
}

test('retries 429 and 503 waiting Retry-After and resends the upload', async () => {
  const server = await scripted([[429, '1'], [503, '0'], [200]]);
  try {
    const stratus = new sdk.Stratus({ apiKey: 'sk_test', baseUrl: server.base, maxRetries: 3 });
    const started = Date.now();
    const result = await stratus.transcribe(new Blob(['RIFF-not-really-audio']), {});
    assert.equal(result.text, 'hello');
    assert.ok(Date.now() - started >= 1000, 'Retry-After: 1 was not honoured');
    assert.equal(server.bodies.length, 3);
    assert.ok(server.bodies.every((b) => b.includes('RIFF-not-really-audio') && b.includes('name="model"')));
  } finally {
    server.close();
  }
});

test('a 429 marked x-should-retry: false (a spent budget) is not retried', async () => {
  const server = await scripted([[429, '60', 'false'], [200]]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base, maxRetries: 3 });
    const started = Date.now();
    await assert.rejects(stratus.listModels(), (e) => e instanceof sdk.RateLimitError);
    assert.ok(Date.now() - started < 1000, 'waited on an answer that said not to retry');
    assert.equal(server.bodies.length, 1);
  } finally {
    server.close();
  }
});

test('x-should-retry: true makes another status worth a retry', async () => {
  const server = await scripted([[500, '0', 'true'], [200]]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base, maxRetries: 3 });
    await stratus.listModels();
    assert.equal(server.bodies.length, 2);
  } finally {
    server.close();
  }
});

test('gives up after maxRetries with the typed error', async () => {
  const server = await scripted([[429, '0'], [429, '0'], [429, '0']]);
  try {
    const stratus = new sdk.Stratus({ baseUrl: server.base, maxRetries: 2 });
    await assert.rejects(stratus.listModels(), (e) => {
      assert.ok(e instanceof sdk.RateLimitError);
      assert.ok(e instanceof sdk.StratusError);
      assert.equal(e.status, 429);
      assert.equal(e.code, 'rate_limit_exceeded');
      assert.equal(e.retryAfter, 0);
      return true;
    });
    assert.equal(server.bodies.length, 3);
  } finally {
    server.close();
  }
});

test('a timeout is a connection error', async () => {
  const server = createServer(() => {}); // never answers
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const stratus = new sdk.Stratus({ baseUrl: `http://127.0.0.1:${server.address().port}`, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(stratus.listModels(), (e) => e instanceof sdk.APIConnectionTimeoutError && e instanceof sdk.APIConnectionError && e.status === 0);
    assert.ok(Date.now() - started < 5000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('SSE is parsed by eventsource-parser: events split across chunks, comments skipped, an unterminated last event dropped', async () => {
  const parts = [': keep-alive\n\ndata: {"a":', '1}\r\n\r\ndata: x\ndata: y\n\n', 'event: note\nid: 7\ndata: z\n\n', 'data: last'];
  const body = new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  const seen = [];
  for await (const event of sdk.sseEvents(body)) seen.push(event);
  assert.deepEqual(
    seen.map((e) => [e.event, e.id, e.data]),
    [
      [undefined, undefined, '{"a":1}'],
      [undefined, undefined, 'x\ny'],
      ['note', '7', 'z'],
    ],
  );
});

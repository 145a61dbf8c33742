// Webhook signatures (`@stratus/client/webhooks`) without a server: the
// server's scheme (services/speech/src/jobs/webhook.rs) recomputed by hand
// with node:crypto, then every way a delivery must be refused. The live
// suite verifies a real delivery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signWebhook, unwrapWebhook, verifyWebhookSignature, WebhookVerificationError } from '@stratus/client/webhooks';

const SECRET = 'whsec_0123456789abcdef';
const BODY = '{"id":"job_1","object":"audio.job","status":"succeeded","result":{"text":"hi"}}';
const T = 1_764_300_000;

const refused = (reason) => (e) => {
  assert.ok(e instanceof WebhookVerificationError, String(e));
  assert.equal(e.reason, reason);
  return true;
};

test('a signature made as the server makes it verifies, within the tolerance only', () => {
  // HMAC-SHA256 over `<t>.<body>` keyed with the whole whsec_ string.
  const hex = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
  const header = `t=${T},v1=${hex}`;
  assert.equal(signWebhook(BODY, SECRET, T), header);
  verifyWebhookSignature(BODY, header, SECRET, { now: T + 300 });
  verifyWebhookSignature(new TextEncoder().encode(BODY), header, SECRET, { now: T - 300 });
  assert.throws(() => verifyWebhookSignature(BODY, header, SECRET, { now: T + 301 }), refused('timestamp_out_of_tolerance'));
  assert.throws(() => verifyWebhookSignature(BODY, header, SECRET, { now: T - 301 }), refused('timestamp_out_of_tolerance'));
  verifyWebhookSignature(BODY, header, SECRET, { now: T + 3000, toleranceSeconds: 3600 });
});

test('a tampered body, another secret, or a bad header is refused', () => {
  const header = signWebhook(BODY, SECRET, T);
  const now = T;
  assert.throws(() => verifyWebhookSignature(BODY.replace('hi', 'ho'), header, SECRET, { now }), refused('no_matching_signature'));
  assert.throws(() => verifyWebhookSignature(BODY + ' ', header, SECRET, { now }), refused('no_matching_signature'));
  assert.throws(() => verifyWebhookSignature(BODY, header, 'whsec_other', { now }), refused('no_matching_signature'));
  // The timestamp is signed: moving it breaks the signature.
  assert.throws(() => verifyWebhookSignature(BODY, header.replace(`t=${T}`, `t=${T + 1}`), SECRET, { now }), refused('no_matching_signature'));
  assert.throws(() => verifyWebhookSignature(BODY, undefined, SECRET, { now }), refused('missing_signature'));
  assert.throws(() => verifyWebhookSignature(BODY, header.replace(/^t=\d+,/, ''), SECRET, { now }), refused('malformed_signature'));
  assert.throws(() => verifyWebhookSignature(BODY, `t=${T},v1=zz`, SECRET, { now }), refused('no_matching_signature'));
  assert.throws(() => verifyWebhookSignature(BODY, `t=${T}`, SECRET, { now }), refused('no_matching_signature'));
});

test('during a rotation either secret verifies a delivery signed with both; unwrap parses it', () => {
  const header = signWebhook(BODY, ['whsec_new', 'whsec_old'], T);
  assert.equal(header.match(/v1=/g).length, 2);
  verifyWebhookSignature(BODY, header, 'whsec_new', { now: T });
  verifyWebhookSignature(BODY, header, 'whsec_old', { now: T });
  // Node's IncomingMessage.headers (lower-case keys) and fetch's Headers alike.
  const event = unwrapWebhook(BODY, { 'x-stratus-signature': header, 'x-stratus-event': 'audio.job.succeeded' }, 'whsec_old', { now: T });
  assert.equal(event.type, 'audio.job.succeeded');
  assert.equal(event.job.id, 'job_1');
  const headers = new Headers({ 'X-Stratus-Signature': header, 'X-Stratus-Event': 'audio.job.failed' });
  assert.equal(unwrapWebhook(BODY, headers, 'whsec_new', { now: T }).type, 'audio.job.failed');
  assert.throws(() => unwrapWebhook(BODY, {}, 'whsec_new', { now: T }), refused('missing_signature'));
});

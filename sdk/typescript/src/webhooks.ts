/**
 * Verifying the webhooks Stratus sends when a job ends (Node only:
 * `node:crypto`), as `@stratus/client/webhooks`.
 *
 * The scheme (services/speech/src/jobs/webhook.rs): the header
 * `x-stratus-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, each `<hex>`
 * being HMAC-SHA256 over `<t>.<raw body>` keyed with the tenant's signing
 * secret (the whole `whsec_…` string, `GET /v1/audio/webhook-secret`).
 * While a rotated-out secret is still valid a delivery carries one `v1`
 * per secret: any match is enough. The event name is in `x-stratus-event`
 * (`audio.job.succeeded`, `audio.job.failed`), the body is the job's JSON.
 * Hand-written (beside src/generated, which sdk/generate writes).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { AudioJob } from './generated/types.gen.js';

export const SIGNATURE_HEADER = 'x-stratus-signature';
export const EVENT_HEADER = 'x-stratus-event';
/** Seconds a signature's timestamp may be from now (either way), as the server's own check. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookEventType = 'audio.job.succeeded' | 'audio.job.failed';

/** A verified delivery: the event and the finished job (with its result when it succeeded). */
export interface WebhookEvent {
  type: WebhookEventType;
  job: AudioJob;
}

/** Why a delivery was refused. */
export type WebhookFailure = 'missing_signature' | 'malformed_signature' | 'timestamp_out_of_tolerance' | 'no_matching_signature';

/** A delivery that is not provably from the server, for this secret, and recent: answer it 400 and drop it. */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;

  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

export interface VerifyOptions {
  /** Default 300. */
  toleranceSeconds?: number;
  /** Unix seconds to check the timestamp against (default now). */
  now?: number;
}

/** Headers as `fetch`, Node's `IncomingMessage.headers` or a plain object hold them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function bytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(',') : value;
}

function mac(secret: string, timestamp: number, payload: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest();
}

/**
 * Check a delivery's `x-stratus-signature` against the raw body (the exact
 * bytes received: not JSON re-serialised) and the tenant's secret: throws
 * WebhookVerificationError unless one `v1` matches (compared in constant
 * time) and the timestamp is within the tolerance.
 */
export function verifyWebhookSignature(payload: string | Uint8Array, signature: string | null | undefined, secret: string, options: VerifyOptions = {}): void {
  if (!signature) throw new WebhookVerificationError('missing_signature', `no ${SIGNATURE_HEADER} header`);
  let timestamp: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of signature.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^-?\d+$/.test(value)) timestamp = Number(value);
    // Not hex: ignored, as the server's own verifier does.
    if (key === 'v1' && /^(?:[0-9a-fA-F]{2})+$/.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || !Number.isSafeInteger(timestamp)) {
    throw new WebhookVerificationError('malformed_signature', `${SIGNATURE_HEADER} has no t=<unix seconds>`);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError('timestamp_out_of_tolerance', `signed at ${timestamp}, more than ${tolerance} s from ${now}: a replay or a skewed clock`);
  }
  const expected = mac(secret, timestamp, bytes(payload));
  // Every candidate is compared, so the time taken tells nothing about which matched.
  let matched = false;
  for (const candidate of candidates) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('no_matching_signature', 'no v1 signature matches this body and secret');
}

/**
 * Verify a delivery (see `verifyWebhookSignature`) and parse it: the event
 * (`x-stratus-event`) and the job.
 */
export function unwrapWebhook(payload: string | Uint8Array, headers: WebhookHeaders, secret: string, options: VerifyOptions = {}): WebhookEvent {
  verifyWebhookSignature(payload, header(headers, SIGNATURE_HEADER), secret, options);
  const job = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload)) as AudioJob;
  const event = header(headers, EVENT_HEADER);
  const type: WebhookEventType = event === 'audio.job.succeeded' || event === 'audio.job.failed' ? event : job.status === 'succeeded' ? 'audio.job.succeeded' : 'audio.job.failed';
  return { type, job };
}

/**
 * The `x-stratus-signature` value the server would send for `payload` at
 * `timestamp` (unix seconds, default now): for testing a receiver.
 */
export function signWebhook(payload: string | Uint8Array, secret: string | string[], timestamp: number = Math.floor(Date.now() / 1000)): string {
  const secrets = Array.isArray(secret) ? secret : [secret];
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${mac(s, timestamp, bytes(payload)).toString('hex')}`)].join(',');
}

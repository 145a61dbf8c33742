"""The Python SDK against a live ``stratus serve``.

Run by services/stratus/tests/sdk_python.rs, which installs the SDK into a
fresh venv as its README says, starts the server with whisper-tiny.en,
all-minilm-l6-v2 and lid-176, job webhooks signed (``--webhook-secret``)
and allowed to a local http receiver, and sets STRATUS_BASE_URL,
STRATUS_API_KEY (speech and language scopes), STRATUS_ADMIN_KEY (admin)
and STRATUS_TEST_AUDIO (a real speech WAV). Standard library unittest only.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
import time
import unittest
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from stratus_client import (
    AsyncStratus,
    AudioJob,
    CreateEmbeddingResponse,
    Invoice,
    InvoiceList,
    JobFailedError,
    JobTimeoutError,
    ModelList,
    RawResponse,
    Stratus,
    Transcription,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionVerbose,
    UsageEvent,
    UsageReport,
    WebhookVerificationError,
)
from stratus_client.exceptions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from stratus_client.objects import CreatedApiKey, Limits, Tenant
from stratus_client.webhooks import unwrap, verify_signature

if "STRATUS_BASE_URL" not in os.environ:
    raise unittest.SkipTest("no live server: set STRATUS_BASE_URL (services/stratus/tests/sdk_python.rs does)")

BASE_URL = os.environ["STRATUS_BASE_URL"]
AUDIO = Path(os.environ["STRATUS_TEST_AUDIO"])
# A key with the speech and language scopes, made by the Rust test that runs
# this suite against a live `stratus serve`.
API_KEY = os.environ["STRATUS_API_KEY"]
# A key with the `admin` scope, for the admin API.
ADMIN_KEY = os.environ["STRATUS_ADMIN_KEY"]
EMBEDDER = "all-minilm-l6-v2"


def words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def new_tenant(prefix: str, scopes: list[str], **limits: int) -> tuple[Tenant, CreatedApiKey]:
    """A fresh tenant (its own usage, limits and budget) and a key of it."""
    with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
        tenant = admin.create_tenant(f"sdk-python-{prefix}-{uuid.uuid4().hex[:12]}")
        if limits:
            admin.set_tenant_limits(tenant.id, **limits)
        key = admin.create_tenant_key(tenant.id, scopes, prefix)
    return tenant, key


def poll(read: Any, ready: Any, seconds: float = 10.0) -> Any:
    """``read()`` until ``ready(value)`` (metering records a moment after the answer)."""
    deadline = time.monotonic() + seconds
    value = read()
    while not ready(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


class LiveServer(unittest.TestCase):
    client: Stratus

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = Stratus(API_KEY, base_url=BASE_URL, timeout=120)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_transcribes_a_wav_upload(self) -> None:
        result = self.client.transcribe(AUDIO, model="whisper-1")
        self.assertIsInstance(result, Transcription)
        self.assertIn("young man", words(result.text))
        self.assertEqual(result.usage.type, "duration")
        self.assertGreater(result.usage.seconds, 2.0)

    def test_each_response_format_has_its_type(self) -> None:
        # verbose_json with both granularities: the list goes out as repeated
        # `timestamp_granularities[]` fields (a 400 if it were sent as one).
        verbose = self.client.transcribe(
            AUDIO.read_bytes(), response_format="verbose_json", timestamp_granularities=["word", "segment"]
        )
        self.assertIsInstance(verbose, TranscriptionVerbose)
        self.assertEqual(verbose.language, "english")
        self.assertTrue(verbose.segments)
        self.assertIsInstance(verbose.segments[0].start, float)
        self.assertIsNotNone(verbose.words)
        assert verbose.words is not None
        self.assertGreater(len(verbose.words), 5)
        self.assertIn("young", [w.word.lower().strip(".,") for w in verbose.words])
        for word in verbose.words:
            self.assertLessEqual(word.start, word.end)
            self.assertLessEqual(word.end, verbose.duration + 0.01)
        # Without "word": segments only.
        segments_only = self.client.transcribe(
            AUDIO, response_format="verbose_json", timestamp_granularities=["segment"]
        )
        self.assertIsNone(segments_only.words)
        self.assertTrue(segments_only.segments)

        text = self.client.transcribe(AUDIO, response_format="text")
        self.assertIsInstance(text, str)
        self.assertIn("young man", words(text))
        srt = self.client.transcribe(AUDIO, response_format="srt")
        self.assertRegex(srt, r"^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n")
        vtt = self.client.transcribe(AUDIO, response_format="vtt")
        self.assertRegex(vtt, r"^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> ")
        self.assertIsInstance(self.client.transcribe(AUDIO, response_format="json"), Transcription)

    def test_granularities_need_verbose_json(self) -> None:
        with self.assertRaises(BadRequestError) as caught:
            self.client.transcribe(AUDIO, timestamp_granularities=["word"])
        self.assertEqual(caught.exception.param, "timestamp_granularities[]")

    def test_streams_typed_events(self) -> None:
        with self.client.stream_transcription(AUDIO) as stream:
            self.assertEqual(stream.response.headers["content-type"].split(";")[0], "text/event-stream")
            events = list(stream)
        *deltas, done = events
        self.assertTrue(deltas)
        self.assertTrue(all(isinstance(e, TranscriptionTextDeltaEvent) for e in deltas))
        self.assertTrue(all(e.type == "transcript.text.delta" for e in deltas))
        self.assertIsInstance(done, TranscriptionTextDoneEvent)
        assert isinstance(done, TranscriptionTextDoneEvent)
        self.assertEqual("".join(e.delta for e in deltas).strip(), done.text.strip())  # type: ignore[union-attr]
        self.assertGreater(done.usage.seconds, 2.0)

    def test_a_stream_refused_up_front_raises_at_the_call(self) -> None:
        with self.assertRaises(BadRequestError) as caught:
            self.client.stream_transcription(AUDIO, temperature=3.0)
        self.assertEqual(caught.exception.param, "temperature")

    def test_translation_needs_a_multilingual_model(self) -> None:
        with self.assertRaises(BadRequestError) as caught:
            self.client.translate(AUDIO, model="whisper-tiny.en")
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("multilingual", caught.exception.message)

    def test_invalid_field_is_a_typed_error_naming_the_param(self) -> None:
        with self.assertRaises(BadRequestError) as caught:
            self.client.transcribe(AUDIO, temperature=7.0)
        self.assertEqual(caught.exception.param, "temperature")
        self.assertEqual(caught.exception.type, "invalid_request_error")
        self.assertTrue(caught.exception.request_id)

    def test_unknown_model_is_not_found(self) -> None:
        with self.assertRaises(NotFoundError) as caught:
            self.client.embed("hello", model="no-such-model")
        self.assertEqual(caught.exception.code, "model_not_found")

    def test_embeds(self) -> None:
        result = self.client.embed(["a cat", "a dog"], model=EMBEDDER)
        self.assertIsInstance(result, CreateEmbeddingResponse)
        self.assertEqual([item.index for item in result.data], [0, 1])
        self.assertEqual(len(result.data[0].embedding), 384)
        self.assertIsInstance(result.data[0].embedding[0], float)
        self.assertGreater(result.usage.prompt_tokens, 0)
        self.assertEqual(result.model, EMBEDDER)

    def test_detects_language(self) -> None:
        result = self.client.detect_language(["Bonjour tout le monde, comment allez-vous ?"])
        self.assertEqual(result.data[0].language, "fr")
        self.assertGreater(result.data[0].confidence, 0.5)
        self.assertEqual(result.usage.documents, 1)

    def test_redacts_pii(self) -> None:
        result = self.client.redact_pii("Write to ana@example.com today.", redaction="type")
        self.assertEqual(result.data[0].redacted_text, "Write to [EMAIL] today.")
        self.assertEqual(result.data[0].entities[0].type, "EMAIL")

    def test_lists_models(self) -> None:
        models = self.client.list_models()
        self.assertIsInstance(models, ModelList)
        ids = [m.id for m in models.data]
        self.assertIn("whisper-tiny.en", ids)
        whisper = self.client.retrieve_model("whisper-tiny.en")
        self.assertEqual(whisper.service, "speech")
        self.assertEqual(whisper.languages, ["en"])

    def test_bad_key_is_an_authentication_error(self) -> None:
        with Stratus("sk_not_a_real_key", base_url=BASE_URL) as bad, self.assertRaises(AuthenticationError) as caught:
            bad.list_models()
        self.assertEqual(caught.exception.status, 401)
        self.assertEqual(caught.exception.code, "invalid_api_key")

    def test_key_made_over_the_admin_api_and_usage(self) -> None:
        tenant, key = new_tenant("usage", ["language", "usage:read"])
        self.assertIsInstance(tenant, Tenant)
        self.assertTrue(key.secret.startswith("sk_"))
        self.assertEqual(key.tenant_id, tenant.id)
        with Stratus(key.secret, base_url=BASE_URL) as client:
            client.detect_language(["Guten Morgen, wie geht es dir heute?", "Good morning to you all."])
            usage = poll(client.usage, lambda u: u.totals.documents >= 2)
            csv = client.usage_csv()
        self.assertIsInstance(usage, UsageReport)
        self.assertEqual(usage.tenant_id, tenant.id)
        self.assertGreaterEqual(usage.totals.documents, 2, usage)
        self.assertEqual(sum(b.documents for b in usage.data), usage.totals.documents)
        self.assertTrue(csv.startswith("bucket_start,"), csv)

    def test_rate_limit_is_a_typed_error_with_retry_after(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-limited-{uuid.uuid4().hex[:12]}")
            limits = admin.set_tenant_limits(tenant.id, requests_per_minute=2)
            key = admin.create_tenant_key(tenant.id, ["language"], "limited")
        self.assertIsInstance(limits, Limits)
        self.assertEqual(limits.requests_per_minute, 2)
        self.assertIsNone(limits.tokens_per_minute)
        # No retries: the 429 itself reaches the caller.
        with Stratus(key.secret, base_url=BASE_URL, max_retries=0) as client:
            client.detect_language(["Guten Morgen, wie geht es dir heute?"])
            client.detect_language(["Bonjour tout le monde."])
            with self.assertRaises(RateLimitError) as caught:
                client.detect_language(["Good morning to you all."])
        error = caught.exception
        self.assertEqual(error.status, 429)
        self.assertEqual(error.code, "rate_limit_exceeded")
        self.assertIsNotNone(error.retry_after)
        self.assertGreater(error.retry_after, 0)
        self.assertEqual(error.retries_taken, 0)

    def test_usage_events_and_the_draft_invoice(self) -> None:
        tenant, key = new_tenant("billed", ["language", "usage:read", "billing:read"])
        text = "Guten Morgen, wie geht es dir heute?"
        with Stratus(key.secret, base_url=BASE_URL) as client:
            client.detect_language([text])
            events = poll(lambda: list(client.usage_events(page_size=1)), bool)
            self.assertEqual(len(events), 1, events)
            self.assertIsInstance(events[0], UsageEvent)
            self.assertEqual(events[0].tenant_id, tenant.id)
            self.assertEqual(events[0].units.characters, len(text))
            self.assertEqual(events[0].endpoint, "/v1/language/detect")
            invoices = client.list_invoices()
            self.assertIsInstance(invoices, InvoiceList)
            draft = invoices.data[0]
            self.assertIsInstance(draft, Invoice)
            self.assertEqual(draft.status, "draft")
            self.assertEqual(draft.tenant_id, tenant.id)
            self.assertIsNone(draft.closed_at)
            characters = [line for line in draft.lines if line.unit == "1k_characters"]
            self.assertEqual(len(characters), 1, draft.lines)
            self.assertEqual(sum(line.amount_nanos for line in draft.lines), draft.subtotal_nanos)
            self.assertEqual(client.get_invoice(draft.id).subtotal, draft.subtotal)
            csv = client.invoice_csv(draft.id)
            self.assertTrue(csv.splitlines()[0].startswith("invoice"), csv)
            self.assertIn("1k_characters", csv)


class LivePagination(unittest.TestCase):
    def test_usage_events_page_through_the_cursor(self) -> None:
        tenant, key = new_tenant("paged", ["language", "usage:read"])
        texts = [f"Guten Morgen, Nummer {n}, wie geht es dir?" for n in range(5)]
        with Stratus(key.secret, base_url=BASE_URL) as client:
            for text in texts:
                client.detect_language([text])
            poll(lambda: list(client.usage_events()), lambda events: len(events) >= 5)
            first = client.usage_events(page_size=2)
            self.assertEqual(len(first.data), 2)
            self.assertTrue(first.has_more)
            self.assertIsNotNone(first.next_cursor)
            pages = list(first.iter_pages())
            self.assertEqual([len(p.data) for p in pages], [2, 2, 1])
            self.assertFalse(pages[-1].has_more)
            every = list(client.usage_events(page_size=2))
            self.assertEqual([e.units.characters for e in every], [len(t) for t in texts])
            self.assertEqual(len({e.id for e in every}), 5)
            self.assertEqual([e.id for p in pages for e in p.data], [e.id for e in every])
            # Resume from where the last page ended: only what came after.
            resume = pages[-1].next_cursor
            client.detect_language(["Bonjour tout le monde."])
            newer = poll(lambda: list(client.usage_events(cursor=resume)), bool)
            self.assertEqual([e.units.characters for e in newer], [len("Bonjour tout le monde.")])

        async def run() -> tuple[list[str], list[int]]:
            async with AsyncStratus(key.secret, base_url=BASE_URL) as aclient:
                ids = [e.id async for e in aclient.usage_events(page_size=2)]
                page = await aclient.usage_events(page_size=4)
                return ids, [len(p.data) async for p in page.iter_pages()]

        ids, sizes = asyncio.run(run())
        self.assertEqual(ids[:5], [e.id for e in every])
        self.assertEqual(sizes, [4, 2])


class LiveJobs(unittest.TestCase):
    client: Stratus

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = Stratus(API_KEY, base_url=BASE_URL, timeout=120)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_submit_wait_with_progress_then_the_typed_result(self) -> None:
        job = self.client.create_job(AUDIO, response_format="verbose_json")
        self.assertIsInstance(job, AudioJob)
        self.assertIn(job.status, ("queued", "running"))
        self.assertIsNone(job.result)
        seen: list[tuple[str, float]] = []
        done = self.client.wait_for_job(
            job, timeout=300, poll_interval=0.1, on_progress=lambda j: seen.append((j.status, j.progress))
        )
        self.assertEqual(done.status, "succeeded")
        self.assertEqual(seen[-1], ("succeeded", 1.0))
        self.assertEqual(len(seen), len(set(seen)), "called only on changes")
        self.assertIsInstance(done.result, TranscriptionVerbose)
        assert isinstance(done.result, TranscriptionVerbose)
        self.assertIn("young man", words(done.result.text))
        self.assertTrue(done.result.segments)
        assert done.usage is not None
        self.assertGreater(done.usage.seconds, 2.0)
        self.assertIsNotNone(done.finished_at)

        text_job = self.client.create_job(AUDIO, response_format="text")
        text = self.client.wait_for_job(text_job.id, timeout=300, poll_interval=0.1).result
        self.assertIsInstance(text, str)
        assert isinstance(text, str)
        self.assertIn("young man", words(text))

        # Newest first, a page of one at a time, every page fetched by iterating.
        first = self.client.list_jobs(limit=1)
        self.assertEqual([j.id for j in first.data], [text_job.id])
        self.assertTrue(first.has_more)
        ids = [j.id for j in self.client.list_jobs(limit=1)]
        self.assertEqual(ids[:2], [text_job.id, job.id])
        self.assertEqual(len(ids), len(set(ids)))

    def test_waiting_times_out_and_a_cancelled_job_fails_the_wait(self) -> None:
        # One job worker: the second job queues behind the first.
        ahead = self.client.create_job(AUDIO)
        behind = self.client.create_job(AUDIO)
        with self.assertRaises(JobTimeoutError) as caught:
            self.client.wait_for_job(behind, timeout=0.05, poll_interval=0.01)
        self.assertIn(caught.exception.job.status, ("queued", "running"))
        self.assertIsInstance(caught.exception, TimeoutError)
        cancelled = self.client.cancel_job(behind.id)
        self.assertEqual(cancelled.status, "cancelled")
        with self.assertRaises(JobFailedError) as failed:
            self.client.wait_for_job(behind, timeout=30)
        self.assertEqual(failed.exception.job.status, "cancelled")
        self.client.wait_for_job(ahead, timeout=300)

    def test_a_job_webhook_verifies(self) -> None:
        deliveries: list[tuple[dict[str, str], bytes]] = []
        arrived = threading.Event()

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()
                arrived.set()

            def log_message(self, *_: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            job = self.client.create_job(AUDIO, response_format="json", webhook_url=url)
            self.assertEqual(job.webhook_url, url)
            self.client.wait_for_job(job, timeout=300)
            self.assertTrue(arrived.wait(60), "no webhook arrived")
        finally:
            server.shutdown()
            server.server_close()
        headers, body = deliveries[0]
        secret = self.client.get_webhook_secret().secret
        self.assertTrue(secret.startswith("whsec_"))

        event = unwrap(body, headers, secret)
        self.assertEqual(event.type, "audio.job.succeeded")
        self.assertEqual(event.job.id, job.id)
        self.assertIsInstance(event.job.result, Transcription)

        timestamp = int(headers["x-stratus-signature"].split(",")[0].removeprefix("t="))
        with self.assertRaises(WebhookVerificationError):
            verify_signature(body.replace(b"succeeded", b"failed"), headers, secret)
        with self.assertRaises(WebhookVerificationError):
            verify_signature(body, headers, "whsec_" + "0" * 64)
        with self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
            verify_signature(body, headers, secret, now=timestamp + 301)
        verify_signature(body, headers, secret, now=timestamp + 299)


class LiveRawAndRetries(unittest.TestCase):
    def test_raw_responses_carry_the_request_id_rate_limits_and_usage(self) -> None:
        tenant, key = new_tenant("raw", ["language", "speech", "usage:read"], requests_per_minute=100)
        with Stratus(key.secret, base_url=BASE_URL) as client:
            raw = client.with_raw_response.embed("a cat", model=EMBEDDER)
            self.assertIsInstance(raw, RawResponse)
            self.assertEqual(raw.status_code, 200)
            self.assertTrue(raw.request_id)
            self.assertEqual(raw.usage["characters"], 5)
            self.assertEqual(raw.usage["documents"], 1)
            self.assertGreater(raw.usage["input_tokens"], 0)
            self.assertEqual(raw.rate_limits["requests"].limit, 100)
            self.assertLess(raw.rate_limits["requests"].remaining, 100)
            self.assertTrue(raw.rate_limits["requests"].reset)
            self.assertEqual(raw.retries_taken, 0)
            parsed = raw.parse()
            self.assertIsInstance(parsed, CreateEmbeddingResponse)
            self.assertEqual(len(parsed.data[0].embedding), 384)

            audio = client.with_raw_response.transcribe(AUDIO, response_format="text")
            self.assertGreater(audio.usage["audio_seconds"], 2.0)
            self.assertIn("young man", words(audio.parse()))

            # The request id is the one metering recorded.
            events = poll(lambda: list(client.usage_events()), lambda e: len(e) >= 2)
            self.assertIn(raw.request_id, [e.request_id for e in events])

        async def run() -> RawResponse[Any]:
            async with AsyncStratus(key.secret, base_url=BASE_URL) as aclient:
                return await aclient.with_raw_response.list_models()

        models = asyncio.run(run())
        self.assertEqual(models.status_code, 200)
        self.assertIsInstance(models.parse(), ModelList)

    def test_a_rate_limited_call_waits_retry_after_and_succeeds(self) -> None:
        # 30 a minute: a burst of 30, then one every 2 s.
        tenant, key = new_tenant("retried", ["language"], requests_per_minute=30)
        with Stratus(key.secret, base_url=BASE_URL, max_retries=0) as eager:
            for _ in range(100):
                try:
                    eager.detect_language(["Hallo"])
                except RateLimitError as e:
                    self.assertGreater(e.retry_after or 0, 0)
                    break
            else:
                self.fail("the limit never answered 429")
        with Stratus(key.secret, base_url=BASE_URL, max_retries=3, max_retry_wait=10) as patient:
            started = time.monotonic()
            raw = patient.with_raw_response.detect_language(["Hallo"])
            elapsed = time.monotonic() - started
        self.assertEqual(raw.status_code, 200)
        self.assertGreaterEqual(raw.retries_taken, 1)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertEqual(raw.parse().data[0].id, "0")

    def test_a_spent_budget_is_refused_at_once_without_retries(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-spent-{uuid.uuid4().hex[:12]}")
            budget = admin.set_tenant_budget(tenant.id, hard_limit="0")
            key = admin.create_tenant_key(tenant.id, ["language"], "spent")
        self.assertTrue(budget.hard_limit is not None and Decimal(budget.hard_limit) == 0, budget)
        # The gateway caches a tenant's terms for a second.
        time.sleep(1.5)
        with Stratus(key.secret, base_url=BASE_URL, max_retries=3) as client:
            started = time.monotonic()
            with self.assertRaises(RateLimitError) as caught:
                client.detect_language(["Hallo"])
            elapsed = time.monotonic() - started
        error = caught.exception
        self.assertEqual(error.code, "insufficient_quota")
        self.assertEqual(error.headers.get("x-should-retry"), "false")
        self.assertIsNone(error.retry_after)
        self.assertEqual(error.retries_taken, 0)
        self.assertLess(elapsed, 1.0)

    def test_a_keys_own_spent_budget_refuses_that_key_alone(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-key-budget-{uuid.uuid4().hex[:12]}")
            owner = admin.create_tenant_key(tenant.id, ["keys", "language", "billing:read"], "owner")
        with Stratus(owner.secret, base_url=BASE_URL) as client:
            capped = client.create_key(["language", "billing:read"], "capped")
            set_budget = client.set_key_budget(capped.id, "0")
        self.assertEqual(set_budget.key_id, capped.id)
        self.assertTrue(set_budget.hard_limit is not None and Decimal(set_budget.hard_limit) == 0, set_budget)
        # The gateway caches a key's budget for a second.
        time.sleep(1.5)
        with Stratus(capped.secret, base_url=BASE_URL, max_retries=3) as client:
            with self.assertRaises(RateLimitError) as caught:
                client.detect_language(["Hallo"])
            budget = client.budget()
        self.assertEqual(caught.exception.code, "insufficient_quota")
        self.assertIn("API key", str(caught.exception))
        self.assertEqual(caught.exception.retries_taken, 0)
        self.assertIsNotNone(budget.key)
        assert budget.key is not None
        self.assertEqual((budget.key.key_id, budget.key.hard_limit_reached), (capped.id, True))
        # The tenant's budget has no limit; its other key goes on.
        self.assertIsNone(budget.hard_limit)
        with Stratus(owner.secret, base_url=BASE_URL) as client:
            detected = client.detect_language(["Hallo"])
            self.assertEqual(len(detected.data), 1)
            # A key cannot lift its own cap.
            with self.assertRaises(PermissionDeniedError):
                client.set_key_budget(owner.id, None)


class LiveAsync(unittest.TestCase):
    def test_the_async_client_has_the_same_calls(self) -> None:
        progress: list[float] = []

        async def on_progress(job: AudioJob) -> None:
            progress.append(job.progress)

        async def run() -> dict[str, Any]:
            async with AsyncStratus(API_KEY, base_url=BASE_URL, timeout=120) as client:
                transcription, verbose, embeddings, models = await asyncio.gather(
                    client.transcribe(AUDIO),
                    client.transcribe(AUDIO, response_format="verbose_json", timestamp_granularities=["word"]),
                    client.embed("a cat", model=EMBEDDER),
                    client.list_models(),
                )
                stream = await client.stream_transcription(AUDIO, response_format="text")
                events = [event async for event in stream]
                job = await client.create_job(AUDIO, response_format="srt")
                done = await client.wait_for_job(job, timeout=300, poll_interval=0.1, on_progress=on_progress)
                jobs = [j.id async for j in client.list_jobs(limit=1)]
                with self.assertRaises(NotFoundError):
                    await client.get_job("job_does_not_exist")
                return {
                    "transcription": transcription,
                    "verbose": verbose,
                    "embeddings": embeddings,
                    "models": models,
                    "events": events,
                    "done": done,
                    "jobs": jobs,
                }

        out = asyncio.run(run())
        self.assertIsInstance(out["transcription"], Transcription)
        self.assertIn("young man", words(out["transcription"].text))
        self.assertIsInstance(out["verbose"], TranscriptionVerbose)
        self.assertTrue(out["verbose"].words)
        self.assertEqual(len(out["embeddings"].data[0].embedding), 384)
        self.assertIn("whisper-tiny.en", [m.id for m in out["models"].data])
        *deltas, done_event = out["events"]
        self.assertTrue(all(isinstance(e, TranscriptionTextDeltaEvent) for e in deltas))
        self.assertIsInstance(done_event, TranscriptionTextDoneEvent)
        self.assertIsInstance(out["done"].result, str)
        self.assertRegex(out["done"].result, r"^1\n\d\d:\d\d:\d\d,\d{3} --> ")
        self.assertEqual(progress[-1], 1.0)
        self.assertEqual(out["jobs"][0], out["done"].id)


if __name__ == "__main__":
    unittest.main()

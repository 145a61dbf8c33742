"""The Python SDK against a live ``stratus serve``.

Run by services/stratus/tests/sdk_python.rs, which starts the server with
whisper-tiny.en, all-minilm-l6-v2 and lid-176 and sets STRATUS_BASE_URL and
STRATUS_TEST_AUDIO (a real speech WAV). Standard library unittest only.
"""

from __future__ import annotations

import asyncio
import os
import time
import unittest
import uuid
from pathlib import Path

from stratus_client import Stratus
from stratus_client.exceptions import AuthenticationError, BadRequestError, NotFoundError, RateLimitError
from stratus_client.models import Invoice, InvoiceList, LimitsView, Transcription, TranscriptionVerbose

BASE_URL = os.environ["STRATUS_BASE_URL"]
AUDIO = Path(os.environ["STRATUS_TEST_AUDIO"])
# A key with the speech and language scopes, made by the Rust test that runs
# this suite against a live `stratus serve`.
API_KEY = os.environ["STRATUS_API_KEY"]
# A key with the `admin` scope, for the admin API.
ADMIN_KEY = os.environ["STRATUS_ADMIN_KEY"]


def words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


class LiveServer(unittest.TestCase):
    client: Stratus

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = Stratus(API_KEY, base_url=BASE_URL, timeout=120)

    def test_transcribes_a_wav_upload(self) -> None:
        result = self.client.transcribe(AUDIO, model="whisper-1")
        self.assertIsInstance(result, Transcription)
        self.assertIn("young man", words(result.text))
        self.assertEqual(result.usage.type_, "duration")
        self.assertGreater(result.usage.seconds, 2.0)

    def test_verbose_json_and_text_formats(self) -> None:
        verbose = self.client.transcribe(AUDIO.read_bytes(), response_format="verbose_json")
        self.assertIsInstance(verbose, TranscriptionVerbose)
        self.assertEqual(verbose.language, "english")
        self.assertTrue(verbose.segments)
        text = self.client.transcribe(AUDIO, response_format="text")
        self.assertIsInstance(text, str)
        self.assertIn("young man", words(text))

    def test_streams_a_transcription(self) -> None:
        events = list(self.client.stream_transcription(AUDIO))
        *deltas, done = events
        self.assertTrue(deltas)
        self.assertTrue(all(e["type"] == "transcript.text.delta" for e in deltas))
        self.assertEqual(done["type"], "transcript.text.done")
        self.assertEqual("".join(e["delta"] for e in deltas).strip(), done["text"].strip())

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

    def test_unknown_model_is_not_found(self) -> None:
        with self.assertRaises(NotFoundError) as caught:
            self.client.embed("hello", model="no-such-model")
        self.assertEqual(caught.exception.code, "model_not_found")

    def test_embeds(self) -> None:
        result = self.client.embed(["a cat", "a dog"], model="all-minilm-l6-v2")
        self.assertEqual(len(result.data), 2)
        self.assertEqual(len(result.data[0].embedding), 384)

    def test_detects_language(self) -> None:
        result = self.client.detect_language(["Bonjour tout le monde, comment allez-vous ?"])
        self.assertEqual(result.data[0].language, "fr")

    def test_redacts_pii(self) -> None:
        result = self.client.redact_pii("Write to ana@example.com today.", redaction="type")
        self.assertIn("[EMAIL]", result.data[0].redacted_text)

    def test_lists_models(self) -> None:
        ids = [m.id for m in self.client.list_models().data]
        self.assertIn("whisper-tiny.en", ids)

    def test_bad_key_is_an_authentication_error(self) -> None:
        with Stratus("sk_not_a_real_key", base_url=BASE_URL) as bad, self.assertRaises(AuthenticationError) as caught:
            bad.list_models()
        self.assertEqual(caught.exception.status, 401)
        self.assertEqual(caught.exception.code, "invalid_api_key")

    def test_key_made_over_the_admin_api_and_usage(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-{uuid.uuid4().hex[:12]}")
            key = admin.create_tenant_key(tenant["id"], ["language", "usage:read"], "sdk test")
        self.assertTrue(key["secret"].startswith("sk_"))
        with Stratus(key["secret"], base_url=BASE_URL) as client:
            client.detect_language(["Guten Morgen, wie geht es dir heute?", "Good morning to you all."])
            # Metering may record a moment after the answer: poll briefly.
            usage = client.usage()
            for _ in range(50):
                if usage["totals"]["documents"] >= 2:
                    break
                time.sleep(0.2)
                usage = client.usage()
        self.assertEqual(usage["tenant_id"], tenant["id"])
        self.assertGreaterEqual(usage["totals"]["documents"], 2, usage)

    def test_rate_limit_is_a_typed_error_with_retry_after(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-limited-{uuid.uuid4().hex[:12]}")
            limits = admin.set_tenant_limits(tenant["id"], requests_per_minute=2)
            key = admin.create_tenant_key(tenant["id"], ["language"], "limited")
        self.assertIsInstance(limits, LimitsView)
        self.assertEqual(limits.requests_per_minute, 2)
        # No retries: the 429 itself reaches the caller.
        with Stratus(key["secret"], base_url=BASE_URL, max_retries=0) as client:
            client.detect_language(["Guten Morgen, wie geht es dir heute?"])
            client.detect_language(["Bonjour tout le monde."])
            with self.assertRaises(RateLimitError) as caught:
                client.detect_language(["Good morning to you all."])
        error = caught.exception
        self.assertEqual(error.status, 429)
        self.assertEqual(error.code, "rate_limit_exceeded")
        self.assertIsNotNone(error.retry_after)
        self.assertGreater(error.retry_after, 0)

    def test_usage_events_and_the_draft_invoice(self) -> None:
        with Stratus(ADMIN_KEY, base_url=BASE_URL) as admin:
            tenant = admin.create_tenant(f"sdk-python-billed-{uuid.uuid4().hex[:12]}")
            key = admin.create_tenant_key(tenant["id"], ["language", "usage:read", "billing:read"], "billed")
        text = "Guten Morgen, wie geht es dir heute?"
        with Stratus(key["secret"], base_url=BASE_URL) as client:
            client.detect_language([text])
            # Metering may record a moment after the answer: poll briefly.
            for _ in range(50):
                events = list(client.usage_events(page_size=1))
                if events:
                    break
                time.sleep(0.2)
            self.assertEqual(len(events), 1, events)
            self.assertEqual(events[0]["tenant_id"], tenant["id"])
            self.assertEqual(events[0]["units"]["characters"], len(text))
            invoices = client.list_invoices()
            self.assertIsInstance(invoices, InvoiceList)
            draft = invoices.data[0]
            self.assertIsInstance(draft, Invoice)
            self.assertEqual(draft.status, "draft")
            self.assertEqual(draft.tenant_id, tenant["id"])
            characters = [line for line in draft.lines if line.unit == "1k_characters"]
            self.assertEqual(len(characters), 1, draft.lines)
            self.assertEqual(sum(line.amount_nanos for line in draft.lines), draft.subtotal_nanos)
            self.assertEqual(client.get_invoice(draft.id).subtotal, draft.subtotal)
            csv = client.invoice_csv(draft.id)
            self.assertTrue(csv.splitlines()[0].startswith("invoice"), csv)
            self.assertIn("1k_characters", csv)

    def test_async_calls(self) -> None:
        async def run() -> tuple[object, object]:
            client = Stratus(API_KEY, base_url=BASE_URL, timeout=120)
            try:
                return await asyncio.gather(
                    client.atranscribe(AUDIO),
                    client.aembed("a cat", model="all-minilm-l6-v2"),
                )
            finally:
                await client.aclose()

        transcription, embeddings = asyncio.run(run())
        self.assertIn("young man", words(transcription.text))
        self.assertEqual(len(embeddings.data), 1)


if __name__ == "__main__":
    unittest.main()

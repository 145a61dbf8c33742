"""Webhook signature verification (stratus_client.webhooks) against the
server's scheme (services/speech/src/jobs/webhook.rs): HMAC-SHA256 over
`<t>.<body>` keyed with the whole `whsec_…` secret, header
`x-stratus-signature: t=…,v1=…[,v1=…]`. The live suite verifies a real
delivery (test_live.LiveJobs.test_a_job_webhook_verifies)."""

from __future__ import annotations

import hashlib
import hmac
import json
import unittest

from stratus_client import WebhookVerificationError
from stratus_client.webhooks import sign, unwrap, verify_signature

SECRET = "whsec_" + "ab" * 32
BODY = json.dumps(
    {
        "id": "job_1",
        "object": "audio.job",
        "status": "succeeded",
        "task": "transcribe",
        "model": "whisper-tiny.en",
        "response_format": "text",
        "progress": 1.0,
        "attempts": 1,
        "created_at": 1700000000,
        "started_at": 1700000001,
        "finished_at": 1700000002,
        "result": "He was not an ill disposed young man.\n",
        "usage": {"type": "duration", "seconds": 4.2},
    }
).encode()
T = 1_700_000_100


def server_signature(secrets: list[str], timestamp: int, body: bytes) -> str:
    """What webhook.rs `sign` sends, written out here independently."""
    parts = [f"t={timestamp}"]
    for secret in secrets:
        mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
        parts.append("v1=" + mac.hexdigest())
    return ",".join(parts)


class Webhooks(unittest.TestCase):
    def test_a_signature_of_the_servers_scheme_verifies_and_unwraps(self) -> None:
        headers = {"X-Stratus-Signature": server_signature([SECRET], T, BODY), "X-Stratus-Event": "audio.job.succeeded"}
        verify_signature(BODY, headers, SECRET, now=T + 10)
        event = unwrap(BODY, headers, SECRET, now=T)
        self.assertEqual(event.type, "audio.job.succeeded")
        self.assertEqual(event.job.id, "job_1")
        self.assertEqual(event.job.result, "He was not an ill disposed young man.\n")
        self.assertEqual(sign(BODY, SECRET, T), server_signature([SECRET], T, BODY))

    def test_a_tampered_body_or_another_secret_is_refused(self) -> None:
        header = server_signature([SECRET], T, BODY)
        with self.assertRaises(WebhookVerificationError):
            verify_signature(BODY.replace(b"young", b"old"), header, SECRET, now=T)
        with self.assertRaises(WebhookVerificationError):
            verify_signature(BODY, header, "whsec_" + "cd" * 32, now=T)
        # The signature covers the timestamp: moving it breaks the signature.
        with self.assertRaises(WebhookVerificationError):
            verify_signature(BODY, header.replace(f"t={T}", f"t={T + 1}"), SECRET, now=T)

    def test_old_and_future_timestamps_are_refused(self) -> None:
        header = server_signature([SECRET], T, BODY)
        verify_signature(BODY, header, SECRET, now=T + 299)
        with self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
            verify_signature(BODY, header, SECRET, now=T + 301)
        with self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
            verify_signature(BODY, header, SECRET, now=T - 301)
        verify_signature(BODY, header, SECRET, now=T + 3000, tolerance=3600)

    def test_during_a_rotation_either_secret_verifies(self) -> None:
        old = "whsec_" + "01" * 32
        header = server_signature([SECRET, old], T, BODY)
        verify_signature(BODY, header, SECRET, now=T)
        verify_signature(BODY, header, old, now=T)
        with self.assertRaises(WebhookVerificationError):
            verify_signature(BODY, header, "whsec_" + "02" * 32, now=T)

    def test_malformed_headers_are_refused(self) -> None:
        for header in ["", "v1=00", f"t={T}", "t=soon,v1=00", f"t={T},v1=zz"]:
            with self.subTest(header=header), self.assertRaises(WebhookVerificationError):
                verify_signature(BODY, {"x-stratus-signature": header} if header else {}, SECRET, now=T)


if __name__ == "__main__":
    unittest.main()

"""Retries on 429/503 honouring Retry-After, and the typed error once they
run out. The transport under test wraps a scripted inner transport (the
server's answers in order), so no server is needed."""

from __future__ import annotations

import time
import unittest

import httpx

from stratus_client.retry import RetryTransport, retry_delay
from stratus_client.stratus import error_from
from stratus_client.exceptions import RateLimitError


def scripted(*answers: tuple[int, dict[str, str]]) -> tuple[httpx.MockTransport, list[bytes]]:
    bodies: list[bytes] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        status, headers = queue.pop(0)
        body = b'{"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}}'
        return httpx.Response(status, headers=headers, content=body if status >= 400 else b"{}")

    return httpx.MockTransport(handle), bodies


class Retries(unittest.TestCase):
    def test_retries_429_and_503_waiting_retry_after_and_resends_the_body(self) -> None:
        inner, bodies = scripted((429, {"Retry-After": "1"}), (503, {"Retry-After": "0"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(inner, max_retries=3))
        started = time.monotonic()
        response = client.post("http://stratus.test/v1/embeddings", files={"file": ("a.wav", b"RIFF")})
        self.assertEqual(response.status_code, 200)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(len(bodies), 3)
        self.assertTrue(all(b == bodies[0] and b"RIFF" in b for b in bodies))

    def test_gives_up_after_max_retries_with_a_typed_error(self) -> None:
        inner, bodies = scripted(*[(429, {"Retry-After": "0"})] * 3)
        client = httpx.Client(transport=RetryTransport(inner, max_retries=2))
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(len(bodies), 3)
        error = error_from(response.status_code, response.content, response.headers)
        self.assertIsInstance(error, RateLimitError)
        self.assertEqual(error.code, "rate_limit_exceeded")
        self.assertEqual(error.retry_after, 0.0)

    def test_a_spent_budget_is_not_retried(self) -> None:
        # The server says x-should-retry: false where waiting cannot help;
        # a 429 that says so is answered at once, whatever Retry-After says.
        inner, bodies = scripted((429, {"x-should-retry": "false", "Retry-After": "60"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(inner, max_retries=3))
        started = time.monotonic()
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(len(bodies), 1)
        self.assertLess(time.monotonic() - started, 1.0)

    def test_the_server_can_ask_for_a_retry_of_another_status(self) -> None:
        inner, bodies = scripted((500, {"x-should-retry": "true", "Retry-After": "0"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(inner, max_retries=3))
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(bodies), 2)

    def test_delay_prefers_retry_after_and_is_capped(self) -> None:
        response = httpx.Response(429, headers={"Retry-After": "120"})
        self.assertEqual(retry_delay(response, 0, 0.5, 60.0), 60.0)
        backoff = retry_delay(httpx.Response(503), 2, 0.5, 60.0)
        self.assertTrue(1.0 <= backoff <= 2.0, backoff)


if __name__ == "__main__":
    unittest.main()

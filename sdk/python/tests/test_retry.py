"""Retries on 429/503 honouring Retry-After and x-should-retry, and the
typed error once they run out. The transport under test (tenacity inside
an httpx transport) wraps a scripted inner transport (the server's answers
in order), so no server is needed; the live suite checks the same against
`stratus serve` (test_live.LiveRetries)."""

from __future__ import annotations

import asyncio
import email.utils
import time
import unittest
from collections.abc import Callable

import httpx

from stratus_client import APIConnectionError, Stratus
from stratus_client._base import error_from
from stratus_client.exceptions import RateLimitError
from stratus_client.retry import AsyncRetryTransport, RetryTransport, retry_after, wait_retry_after


def scripted(*answers: tuple[int, dict[str, str]]) -> tuple[list[bytes], Callable[[httpx.Request], httpx.Response]]:
    bodies: list[bytes] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        status, headers = queue.pop(0)
        body = (
            b'{"error": {"message": "slow down", "type": "rate_limit_error",'
            b' "param": null, "code": "rate_limit_exceeded"}}'
        )
        return httpx.Response(status, headers=headers, content=body if status >= 400 else b"{}")

    return bodies, handle


class Retries(unittest.TestCase):
    def test_retries_429_and_503_waiting_retry_after_and_resends_the_body(self) -> None:
        bodies, handle = scripted((429, {"Retry-After": "1"}), (503, {"Retry-After": "0"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(httpx.MockTransport(handle), max_retries=3))
        started = time.monotonic()
        response = client.post("http://stratus.test/v1/embeddings", files={"file": ("a.wav", b"RIFF")})
        self.assertEqual(response.status_code, 200)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(len(bodies), 3)
        self.assertTrue(all(b == bodies[0] and b"RIFF" in b for b in bodies))
        self.assertEqual(response.extensions["stratus_retries_taken"], 2)

    def test_gives_up_after_max_retries_with_a_typed_error(self) -> None:
        bodies, handle = scripted(*[(429, {"Retry-After": "0"})] * 3)
        client = httpx.Client(transport=RetryTransport(httpx.MockTransport(handle), max_retries=2))
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(len(bodies), 3)
        response.read()
        error = error_from(response)
        self.assertIsInstance(error, RateLimitError)
        self.assertEqual(error.code, "rate_limit_exceeded")
        self.assertEqual(error.retry_after, 0.0)
        self.assertEqual(error.retries_taken, 2)

    def test_a_spent_budget_is_not_retried(self) -> None:
        # The server says x-should-retry: false where waiting cannot help;
        # a 429 that says so is answered at once, whatever Retry-After says.
        bodies, handle = scripted((429, {"x-should-retry": "false", "Retry-After": "60"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(httpx.MockTransport(handle), max_retries=3))
        started = time.monotonic()
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(len(bodies), 1)
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(response.extensions["stratus_retries_taken"], 0)

    def test_the_server_can_ask_for_a_retry_of_another_status(self) -> None:
        bodies, handle = scripted((500, {"x-should-retry": "true", "Retry-After": "0"}), (200, {}))
        client = httpx.Client(transport=RetryTransport(httpx.MockTransport(handle), max_retries=3))
        response = client.get("http://stratus.test/v1/models")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(bodies), 2)

    def test_other_errors_are_not_retried(self) -> None:
        bodies, handle = scripted((400, {}), (200, {}))
        client = httpx.Client(transport=RetryTransport(httpx.MockTransport(handle), max_retries=3))
        self.assertEqual(client.get("http://stratus.test/v1/models").status_code, 400)
        self.assertEqual(len(bodies), 1)

    def test_the_async_transport_retries_alike(self) -> None:
        bodies, handle = scripted((503, {"Retry-After": "0"}), (429, {"x-should-retry": "false"}))

        async def run() -> httpx.Response:
            transport = AsyncRetryTransport(httpx.MockTransport(handle), max_retries=3)
            async with httpx.AsyncClient(transport=transport) as client:
                return await client.get("http://stratus.test/v1/models")

        response = asyncio.run(run())
        self.assertEqual(response.status_code, 429)
        self.assertEqual(len(bodies), 2)
        self.assertEqual(response.extensions["stratus_retries_taken"], 1)

    def test_retry_after_in_seconds_or_as_a_date(self) -> None:
        self.assertEqual(retry_after(httpx.Response(429, headers={"Retry-After": "7"})), 7.0)
        self.assertEqual(retry_after(httpx.Response(429, headers={"Retry-After": "1.5"})), 1.5)
        date = email.utils.formatdate(time.time() + 30, usegmt=True)
        self.assertAlmostEqual(retry_after(httpx.Response(503, headers={"Retry-After": date})), 30, delta=2)
        self.assertIsNone(retry_after(httpx.Response(503, headers={"Retry-After": "soon"})))
        self.assertIsNone(retry_after(httpx.Response(503, headers={"Retry-After": "nan"})))
        self.assertIsNone(retry_after(httpx.Response(503)))

    def test_the_wait_prefers_retry_after_is_capped_and_backs_off_otherwise(self) -> None:
        bodies, handle = scripted((429, {"Retry-After": "120"}), (200, {}))
        waits: list[float] = []
        wait = wait_retry_after(backoff=0.5, max_wait=0.2)

        class Recording(wait_retry_after):
            def __call__(self, state):  # type: ignore[no-untyped-def]
                waits.append(wait(state))
                return waits[-1]

        transport = RetryTransport(httpx.MockTransport(handle), max_retries=1)
        transport.wait = Recording()
        httpx.Client(transport=transport).get("http://stratus.test/v1/models")
        self.assertEqual(waits, [0.2])  # 120 s asked, capped at max_wait

        bodies, handle = scripted((503, {}), (503, {}), (503, {}), (200, {}))
        transport = RetryTransport(httpx.MockTransport(handle), max_retries=3, backoff=0.01, max_wait=1.0)
        started = time.monotonic()
        response = httpx.Client(transport=transport).get("http://stratus.test/v1/models")
        self.assertEqual(response.status_code, 200)
        # 0.01, 0.02, 0.04 plus up to 0.01 jitter each: short, not zero.
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(len(bodies), 4)

    def test_an_unreachable_server_is_a_connection_error(self) -> None:
        with Stratus("sk_x", base_url="http://127.0.0.1:9", max_retries=1, timeout=5) as client:
            with self.assertRaises(APIConnectionError):
                client.list_models()


if __name__ == "__main__":
    unittest.main()

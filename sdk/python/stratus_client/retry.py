"""Retries with backoff on 429 and 503, honouring ``Retry-After`` and
``x-should-retry``.

Hand-written (sdk/overlay/python), copied beside the generated code by
``sdk/generate``. The retry lives in an httpx transport, so every generated
endpoint function gets it without being changed.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import httpx

RETRY_STATUSES = frozenset({429, 503})


def should_retry(response: httpx.Response) -> bool:
    """Whether a failed answer is worth resending.

    The server's ``x-should-retry`` wins (it says ``false`` where waiting
    cannot help, such as a spent budget); otherwise 429 and 503 are.
    """
    header = response.headers.get("x-should-retry", "").strip().lower()
    if header == "false":
        return False
    if header == "true":
        return True
    return response.status_code in RETRY_STATUSES


def retry_delay(response: httpx.Response, attempt: int, backoff: float, max_wait: float) -> float:
    """Seconds to wait before the next attempt.

    ``Retry-After`` (seconds or an HTTP date) wins when the server sends it;
    otherwise exponential backoff with jitter. Never more than ``max_wait``.
    """
    header = response.headers.get("retry-after")
    if header is not None:
        header = header.strip()
        if header.isdigit():
            return min(float(header), max_wait)
        try:
            when = email.utils.parsedate_to_datetime(header)
            return min(max(when.timestamp() - time.time(), 0.0), max_wait)
        except (TypeError, ValueError):
            pass
    return min(backoff * (2**attempt) * (0.5 + random.random() / 2), max_wait)


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport: resends a request answered 429/503, up to ``max_retries`` times."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Buffer the body (e.g. a multipart upload) so that it can be sent again.
        request.read()
        attempt = 0
        while True:
            response = self.inner.handle_request(request)
            if not should_retry(response) or attempt >= self.max_retries:
                return response
            delay = retry_delay(response, attempt, self.backoff, self.max_wait)
            response.close()
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport`."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
    ) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        attempt = 0
        while True:
            response = await self.inner.handle_async_request(request)
            if not should_retry(response) or attempt >= self.max_retries:
                return response
            delay = retry_delay(response, attempt, self.backoff, self.max_wait)
            await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self.inner.aclose()

"""Retries, by tenacity: answers 429 and 503 are sent again, waiting what
``Retry-After`` says (else exponential backoff with jitter), never where the
server says ``x-should-retry: false`` (a spent budget: waiting cannot help),
and also for another status where it says ``x-should-retry: true``.
Connection failures (nothing reached the server) are retried by httpx's own
transport (``retries=``).

Hand-written, beside the code ``sdk/generate`` writes. The retry lives in an httpx transport, so the generated
endpoint functions (``Stratus.call``) get it too. How many times a request
was resent is left in ``response.extensions["stratus_retries_taken"]``
(``RawResponse.retries_taken``, ``StratusError.retries_taken``).
"""

from __future__ import annotations

import email.utils
import math
import time

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_result, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential, wait_random

RETRY_STATUSES = frozenset({429, 503})
RETRIES_TAKEN = "stratus_retries_taken"


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


def retry_after(response: httpx.Response) -> float | None:
    """Seconds ``Retry-After`` asks to wait (seconds or an HTTP date), if it does."""
    header = response.headers.get("retry-after")
    if header is None:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class wait_retry_after(wait_base):
    """Tenacity wait: what the answer's ``Retry-After`` says, else
    exponential backoff with jitter (``backoff``, doubling); never more than
    ``max_wait`` seconds."""

    def __init__(self, backoff: float = 0.5, max_wait: float = 60.0) -> None:
        self.max_wait = max_wait
        self.fallback = wait_exponential(multiplier=backoff, max=max_wait) + wait_random(0, backoff)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after(outcome.result())
            if asked is not None:
                return min(asked, self.max_wait)
        return min(self.fallback(retry_state), self.max_wait)


def _last_answer(retry_state: RetryCallState) -> httpx.Response:
    # The retries ran out: the last answer goes to the caller as it is.
    assert retry_state.outcome is not None
    return retry_state.outcome.result()


def _close_discarded(retry_state: RetryCallState) -> None:
    assert retry_state.outcome is not None
    retry_state.outcome.result().close()


async def _aclose_discarded(retry_state: RetryCallState) -> None:
    assert retry_state.outcome is not None
    await retry_state.outcome.result().aclose()


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport: resends a request answered 429/503 (see
    :func:`should_retry`), up to ``max_retries`` times. The default inner
    transport also retries failed connections ``max_retries`` times."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport(retries=max_retries)
        self.max_retries = max_retries
        self.wait = wait_retry_after(backoff, max_wait)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Buffer the body (e.g. a multipart upload) so that it can be sent again.
        request.read()
        sent = 0

        def send() -> httpx.Response:
            nonlocal sent
            sent += 1
            return self.inner.handle_request(request)

        response: httpx.Response = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self.wait,
            retry=retry_if_result(should_retry),
            before_sleep=_close_discarded,
            retry_error_callback=_last_answer,
            reraise=True,
        )(send)
        response.extensions[RETRIES_TAKEN] = sent - 1
        return response

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
        self.inner = inner or httpx.AsyncHTTPTransport(retries=max_retries)
        self.max_retries = max_retries
        self.wait = wait_retry_after(backoff, max_wait)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        sent = 0

        async def send() -> httpx.Response:
            nonlocal sent
            sent += 1
            return await self.inner.handle_async_request(request)

        response: httpx.Response = await AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self.wait,
            retry=retry_if_result(should_retry),
            before_sleep=_aclose_discarded,
            retry_error_callback=_last_answer,
            reraise=True,
        )(send)
        response.extensions[RETRIES_TAKEN] = sent - 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

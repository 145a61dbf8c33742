"""``AsyncStratus``: the asynchronous client, on ``httpx.AsyncClient``,
with the calls of ``Stratus`` (``stratus.py``) as coroutines: the same
arguments, the same typed answers and errors.

Hand-written, beside the code ``sdk/generate`` writes.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

import httpx

from . import _calls
from ._base import (
    AsyncStream,
    Call,
    FileInput,
    RawResponse,
    TextFormat,
    TimestampGranularity,
    WithRawResponse,
    error_from,
    parse_stream_event,
    settings,
)
from .client import AuthenticatedClient
from .exceptions import (
    APIConnectionError,
    APITimeoutError,
    JobFailedError,
    JobTimeoutError,
    StratusError,
)
from .objects import (
    AudioJob,
    AudioWebhookSecret,
    Budget,
    CreatedApiKey,
    CreateEmbeddingResponse,
    DetectLanguageResponse,
    EntitiesResponse,
    Invoice,
    InvoiceList,
    KeyBudget,
    Limits,
    Model,
    ModelList,
    Tenant,
    Transcription,
    TranscriptionStreamEvent,
    TranscriptionVerbose,
    UsageEvent,
    UsageReport,
)
from .pagination import AsyncPage, AsyncPaginator
from .retry import AsyncRetryTransport

__all__ = ["AsyncStratus"]


def _connection_error(e: httpx.TransportError) -> StratusError:
    kind = APITimeoutError if isinstance(e, httpx.TimeoutException) else APIConnectionError
    return kind(status=0, error={"message": str(e) or type(e).__name__, "type": "connection_error"})


class AsyncStratus:
    """An asynchronous Stratus client (``await`` every call; ``async with``
    or ``await client.close()`` when done).

    ``api_key`` defaults to ``$STRATUS_API_KEY`` and ``base_url`` to
    ``$STRATUS_BASE_URL`` (else ``http://127.0.0.1:8080``). ``timeout`` is in
    seconds. Answers 429 and 503 are retried ``max_retries`` times, waiting
    what ``Retry-After`` says (else exponential backoff), at most
    ``max_retry_wait`` seconds each time, and never where the server says
    ``x-should-retry: false``; failed connections are retried too.
    ``client.with_raw_response.<call>(...)`` answers a :class:`RawResponse`
    (headers, request id, rate limits, usage) instead.
    """

    _raw = False

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url, headers = settings(api_key, base_url, default_headers)
        self.max_retries = max_retries
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=AsyncRetryTransport(max_retries=max_retries, max_wait=max_retry_wait),
        )
        self._generated: AuthenticatedClient | None = None

    # -- plumbing ------------------------------------------------------------

    @property
    def with_raw_response(self) -> WithRawResponse:
        """The same calls, answering :class:`RawResponse` (``.headers``,
        ``.request_id``, ``.rate_limits``, ``.usage``, ``.parse()``)."""
        return WithRawResponse(self)

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` underneath (key, retries, timeouts set)."""
        return self._http

    @property
    def client(self) -> AuthenticatedClient:
        """The generated ``AuthenticatedClient`` on the same connection (for
        ``stratus_client.api.<tag>.<op>.asyncio_detailed(client=...)``)."""
        if self._generated is None:
            token = self._http.headers.get("authorization", "").removeprefix("Bearer ")
            self._generated = AuthenticatedClient(base_url=self.base_url, token=token)
            self._generated.set_async_httpx_client(self._http)
        return self._generated

    async def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._http.build_request(call.method, call.path, **call.request_args())
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.TransportError as e:
            raise _connection_error(e) from e
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise error_from(response)
        return response

    async def _run(self, call: Call) -> Any:
        raw = RawResponse(await self._send(call), call.parse)
        return raw if self._raw else raw.parse()

    async def _fetch(self, call: Call) -> Any:
        return call.parse(await self._send(call))

    async def call(self, operation: Any, **kwargs: Any) -> Any:
        """Run a generated operation module (``stratus_client.api.<tag>.<op>``):
        its parsed answer, or the typed error."""
        try:
            response = await operation.asyncio_detailed(client=self.client, **kwargs)
        except httpx.TransportError as e:
            raise _connection_error(e) from e
        if int(response.status_code) >= 400:
            raise error_from(
                httpx.Response(int(response.status_code), headers=response.headers, content=response.content)
            )
        return response.parsed if response.parsed is not None else response.content.decode("utf-8")

    async def request_json(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Any JSON route, with the key, the retries and the typed errors."""
        return await self._run(Call(method, path, lambda r: r.json(), params=dict(params or {}), json=json_body))

    # -- audio ---------------------------------------------------------------

    @overload
    async def transcribe(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["json"] | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        temperature: float | None = ...,
        timestamp_granularities: Sequence[TimestampGranularity] | None = ...,
    ) -> Transcription: ...
    @overload
    async def transcribe(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["verbose_json"],
        language: str | None = ...,
        prompt: str | None = ...,
        temperature: float | None = ...,
        timestamp_granularities: Sequence[TimestampGranularity] | None = ...,
    ) -> TranscriptionVerbose: ...
    @overload
    async def transcribe(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: TextFormat,
        language: str | None = ...,
        prompt: str | None = ...,
        temperature: float | None = ...,
        timestamp_granularities: Sequence[TimestampGranularity] | None = ...,
    ) -> str: ...
    async def transcribe(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        response_format: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[TimestampGranularity] | None = None,
    ) -> Transcription | TranscriptionVerbose | str:
        """Transcribe audio (a path, bytes, a binary file or ``(name, bytes)``).

        Returns a :class:`Transcription` (``response_format`` ``json``, the
        default), a :class:`TranscriptionVerbose` (``verbose_json``: segments,
        and ``words`` with ``timestamp_granularities=["word", "segment"]``) or
        a ``str`` (``text``, ``srt``, ``vtt``).
        """
        return await self._run(
            _calls.transcription(
                "/v1/audio/transcriptions",
                file,
                model=model,
                language=language,
                prompt=prompt,
                response_format=response_format,
                temperature=temperature,
                timestamp_granularities=timestamp_granularities,
            )
        )

    @overload
    async def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["json"] | None = ...,
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> Transcription: ...
    @overload
    async def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["verbose_json"],
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> TranscriptionVerbose: ...
    @overload
    async def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: TextFormat,
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> str: ...
    async def translate(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        response_format: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> Transcription | TranscriptionVerbose | str:
        """Translate speech into English text (a multilingual model); returns as :meth:`transcribe`."""
        return await self._run(
            _calls.transcription(
                "/v1/audio/translations",
                file,
                model=model,
                language=None,
                prompt=prompt,
                response_format=response_format,
                temperature=temperature,
                timestamp_granularities=None,
            )
        )

    async def stream_transcription(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        response_format: Literal["json", "text"] | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> AsyncStream[TranscriptionStreamEvent]:
        """Transcribe with ``stream=true``: an :class:`AsyncStream` of
        :class:`TranscriptionTextDeltaEvent` as the text is decoded, then one
        :class:`TranscriptionTextDoneEvent` (``async for``). Errors before the
        stream starts raise here; one after raises from the iteration."""
        call = _calls.stream(
            file,
            model=model,
            language=language,
            prompt=prompt,
            response_format=response_format,
            temperature=temperature,
        )
        return AsyncStream(await self._send(call, stream=True), parse_stream_event)

    # -- jobs ----------------------------------------------------------------

    async def create_job(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        task: Literal["transcribe", "translate"] | None = None,
        response_format: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[TimestampGranularity] | None = None,
        webhook_url: str | None = None,
    ) -> AudioJob:
        """Submit an asynchronous transcription (or translation) job: the
        queued :class:`AudioJob`. Wait for it with :meth:`wait_for_job`, or
        give a ``webhook_url`` (verify deliveries with
        :mod:`stratus_client.webhooks`)."""
        return await self._run(
            _calls.create_job(
                file,
                model=model,
                task=task,
                language=language,
                prompt=prompt,
                response_format=response_format,
                temperature=temperature,
                timestamp_granularities=timestamp_granularities,
                webhook_url=webhook_url,
            )
        )

    async def get_job(self, job_id: str) -> AudioJob:
        """A job, with its typed ``result`` once it succeeded."""
        return await self._run(_calls.get_job(job_id))

    async def cancel_job(self, job_id: str) -> AudioJob:
        """Cancel a job (a finished one is returned unchanged)."""
        return await self._run(_calls.cancel_job(job_id))

    def list_jobs(self, *, limit: int | None = None, after: str | None = None) -> AsyncPaginator[AudioJob]:
        """The tenant's jobs, newest first (without results): a page of
        ``limit`` (1 to 100, default 20); iterating it goes on through every
        later page (``await`` it for the first page; ``async for`` for every job)."""

        async def fetch(cursor: str | None) -> AsyncPage[AudioJob]:
            jobs, has_more, last_id = _calls.job_page_fields(await self._fetch(_calls.jobs_page(limit, cursor)))
            return AsyncPage(jobs, has_more=has_more, next_cursor=last_id, fetch=fetch)

        return AsyncPaginator(lambda: fetch(after))

    async def wait_for_job(
        self,
        job: AudioJob | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: Callable[[AudioJob], object] | None = None,
    ) -> AudioJob:
        """Poll a job until it ends: the succeeded job, its typed ``result``
        set. ``on_progress(job)`` is called after each poll that found the
        status or progress changed (a coroutine function is awaited). Raises :class:`JobFailedError` when it
        failed or was cancelled, :class:`JobTimeoutError` when ``timeout``
        seconds passed first (the job goes on)."""
        job_id = job if isinstance(job, str) else job.id
        deadline = time.monotonic() + timeout
        seen: tuple[str, float] | None = None
        while True:
            current = await self._fetch(_calls.get_job(job_id))
            if on_progress is not None and (current.status, current.progress) != seen:
                called = on_progress(current)
                if inspect.isawaitable(called):
                    await called
            seen = (current.status, current.progress)
            if current.status == "succeeded":
                return current
            if current.done:
                raise JobFailedError(current)
            left = deadline - time.monotonic()
            if left <= 0:
                raise JobTimeoutError(current, timeout)
            await asyncio.sleep(min(poll_interval, left))

    async def get_webhook_secret(self) -> AudioWebhookSecret:
        """The secret this tenant's job webhooks are signed with now."""
        return await self._run(_calls.get_webhook_secret())

    async def rotate_webhook_secret(self, *, previous_secret_valid_seconds: int | None = None) -> AudioWebhookSecret:
        """A new webhook secret (a ``keys`` key); the old one keeps signing
        for ``previous_secret_valid_seconds`` (default a day)."""
        return await self._run(_calls.rotate_webhook_secret(previous_secret_valid_seconds))

    # -- language --------------------------------------------------------------

    async def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str,
        encoding_format: Literal["float", "base64"] | None = None,
        dimensions: int | None = None,
        truncate: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> CreateEmbeddingResponse:
        """Embeddings of one text or a list of texts: ``data[i].embedding``, ``usage``."""
        extra = {
            "encoding_format": encoding_format,
            "dimensions": dimensions,
            "truncate": truncate,
            **(extra_body or {}),
        }
        return await self._run(_calls.embed(input, model=model, extra=extra))

    async def detect_language(
        self,
        input: str | Sequence[str | Mapping[str, Any]],
        *,
        model: str | None = None,
        top_k: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> DetectLanguageResponse:
        """The language of each document (``data[i].language``, ``.confidence``)."""
        return await self._run(_calls.detect_language(input, {"model": model, "top_k": top_k, **(extra_body or {})}))

    async def redact_pii(
        self,
        input: str | Sequence[str | Mapping[str, Any]],
        *,
        model: str | None = None,
        redaction: str | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> EntitiesResponse:
        """Personal data in each document (``data[i].entities``) and its ``redacted_text``."""
        extra = {"model": model, "redaction": redaction, "allow": allow, "deny": deny, **(extra_body or {})}
        return await self._run(_calls.redact_pii(input, extra))

    async def list_models(self) -> ModelList:
        """The models this deployment serves."""
        return await self._run(_calls.list_models())

    async def retrieve_model(self, model: str) -> Model:
        """One model (by id or alias)."""
        return await self._run(_calls.retrieve_model(model))

    # -- tenants, keys, limits (admin) -------------------------------------------

    async def create_tenant(self, name: str) -> Tenant:
        """Create a tenant (an ``admin`` key)."""
        return await self._run(_calls.create_tenant(name))

    async def create_tenant_key(self, tenant_id: str, scopes: Sequence[str], name: str | None = None) -> CreatedApiKey:
        """Create a key of a tenant (an ``admin`` key); ``secret`` is shown this once."""
        return await self._run(_calls.create_tenant_key(tenant_id, scopes, name))

    async def create_key(self, scopes: Sequence[str], name: str | None = None) -> CreatedApiKey:
        """Create a key of the caller's own tenant (a ``keys`` key)."""
        return await self._run(_calls.create_key(scopes, name))

    async def set_tenant_limits(self, tenant_id: str, **limits: int | None) -> Limits:
        """Set a tenant's limits (an ``admin`` key): ``requests_per_minute``,
        ``tokens_per_minute``, ``audio_seconds_per_minute``,
        ``concurrent_requests`` (``None``: no limit of that kind). In effect
        within a second."""
        return await self._run(_calls.set_tenant_limits(tenant_id, limits))

    async def set_tenant_budget(
        self, tenant_id: str, *, soft_limit: str | None = None, hard_limit: str | None = None
    ) -> Budget:
        """Set a tenant's monthly budget (an ``admin`` key), decimal strings;
        past ``hard_limit`` requests are refused with 429
        ``insufficient_quota`` (not retried)."""
        return await self._run(_calls.set_tenant_budget(tenant_id, soft_limit, hard_limit))

    async def set_key_budget(self, key_id: str, hard_limit: str | None) -> KeyBudget:
        """Give one of your tenant's keys a monthly budget of its own (a
        ``keys`` key, not the key itself), a decimal string; ``None``
        removes it. Past it the key's requests are refused with 429
        ``insufficient_quota`` (not retried)."""
        return await self._run(_calls.set_key_budget(key_id, hard_limit))

    # -- usage and billing -----------------------------------------------------

    async def budget(self) -> Budget:
        """The caller's budget this month (``billing:read``): its tenant's,
        and the calling key's own in ``key``."""
        return await self._run(_calls.budget())

    async def usage(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        bucket: Literal["day", "hour"] | None = None,
        group_by: Literal["model", "endpoint", "key", "service", "none"] | None = None,
    ) -> UsageReport:
        """The tenant's usage (a ``usage:read`` key): ``totals`` and per-bucket ``data``."""
        return await self._run(_calls.usage({"start": start, "end": end, "bucket": bucket, "group_by": group_by}))

    async def usage_csv(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        bucket: Literal["day", "hour"] | None = None,
        group_by: Literal["model", "endpoint", "key", "service", "none"] | None = None,
    ) -> str:
        """:meth:`usage` as CSV."""
        params = {"start": start, "end": end, "bucket": bucket, "group_by": group_by}
        return await self._run(_calls.usage(params, csv=True))

    def usage_events(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> AsyncPaginator[UsageEvent]:
        """The tenant's usage events, oldest first (a ``usage:read`` key): a
        page of ``page_size`` (default 1000); iterating it goes on through
        every later page. ``page.next_cursor`` is where to resume later
        (``cursor=``) to read only newer events. ``await`` it for the first
        page; ``async for`` for every event."""

        async def fetch(at: str | None) -> AsyncPage[UsageEvent]:
            response = await self._fetch(_calls.usage_events_page(start, end, page_size, at))
            events, has_more, next_cursor = _calls.usage_event_page_fields(response)
            return AsyncPage(events, has_more=has_more, next_cursor=next_cursor, fetch=fetch)

        return AsyncPaginator(lambda: fetch(cursor))

    async def list_invoices(self, *, include_zero_lines: bool | None = None) -> InvoiceList:
        """The tenant's invoices, newest first, the current month a running
        ``draft`` (a ``billing:read`` key)."""
        return await self._run(_calls.list_invoices(include_zero_lines))

    async def get_invoice(self, invoice_id: str, *, include_zero_lines: bool | None = None) -> Invoice:
        """One invoice."""
        return await self._run(_calls.get_invoice(invoice_id, include_zero_lines))

    async def invoice_csv(self, invoice_id: str, *, include_zero_lines: bool | None = None) -> str:
        """One invoice as CSV, a row per line item."""
        return await self._run(_calls.get_invoice(invoice_id, include_zero_lines, csv=True))

    # -- lifetime ----------------------------------------------------------------

    async def close(self) -> None:
        await self._http.aclose()

    aclose = close

    async def __aenter__(self) -> AsyncStratus:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

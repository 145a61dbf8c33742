"""``Stratus``: the synchronous client. One object with an API key, a base
URL, timeouts and retries, whose calls return typed objects
(:mod:`stratus_client.objects`) and raise :class:`StratusError` (carrying
the error envelope) on failure. ``AsyncStratus`` (``async_stratus.py``) has
the same calls.

Hand-written, beside the code ``sdk/generate`` writes. The generated operations (``stratus_client.api``) stay
reachable through :meth:`Stratus.call` with the same key, retries and
errors, for the routes without a call here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

import httpx

from . import _calls
from ._base import (
    Call,
    FileInput,
    RawResponse,
    Stream,
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
    AuthenticationError,
    BadRequestError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
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
from .pagination import SyncPage
from .retry import RetryTransport

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Stratus",
    "StratusError",
]


def _connection_error(e: httpx.TransportError) -> StratusError:
    kind = APITimeoutError if isinstance(e, httpx.TimeoutException) else APIConnectionError
    return kind(status=0, error={"message": str(e) or type(e).__name__, "type": "connection_error"})


class Stratus:
    """A Stratus client.

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
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=RetryTransport(max_retries=max_retries, max_wait=max_retry_wait),
        )
        self._generated: AuthenticatedClient | None = None

    # -- plumbing ------------------------------------------------------------

    @property
    def with_raw_response(self) -> WithRawResponse:
        """The same calls, answering :class:`RawResponse` (``.headers``,
        ``.request_id``, ``.rate_limits``, ``.usage``, ``.parse()``)."""
        return WithRawResponse(self)

    @property
    def http_client(self) -> httpx.Client:
        """The ``httpx.Client`` underneath (key, retries, timeouts set)."""
        return self._http

    @property
    def client(self) -> AuthenticatedClient:
        """The generated ``AuthenticatedClient`` on the same connection (for
        ``stratus_client.api.<tag>.<op>.sync_detailed(client=...)``)."""
        if self._generated is None:
            token = self._http.headers.get("authorization", "").removeprefix("Bearer ")
            self._generated = AuthenticatedClient(base_url=self.base_url, token=token)
            self._generated.set_httpx_client(self._http)
        return self._generated

    def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._http.build_request(call.method, call.path, **call.request_args())
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as e:
            raise _connection_error(e) from e
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_from(response)
        return response

    def _run(self, call: Call) -> Any:
        raw = RawResponse(self._send(call), call.parse)
        return raw if self._raw else raw.parse()

    def _fetch(self, call: Call) -> Any:
        return call.parse(self._send(call))

    def call(self, operation: Any, **kwargs: Any) -> Any:
        """Run a generated operation module (``stratus_client.api.<tag>.<op>``):
        its parsed answer, or the typed error."""
        try:
            response = operation.sync_detailed(client=self.client, **kwargs)
        except httpx.TransportError as e:
            raise _connection_error(e) from e
        if int(response.status_code) >= 400:
            raise error_from(
                httpx.Response(int(response.status_code), headers=response.headers, content=response.content)
            )
        return response.parsed if response.parsed is not None else response.content.decode("utf-8")

    def request_json(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Any JSON route, with the key, the retries and the typed errors."""
        return self._run(Call(method, path, lambda r: r.json(), params=dict(params or {}), json=json_body))

    # -- audio ---------------------------------------------------------------

    @overload
    def transcribe(
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
    def transcribe(
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
    def transcribe(
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
    def transcribe(
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
        return self._run(
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
    def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["json"] | None = ...,
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> Transcription: ...
    @overload
    def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: Literal["verbose_json"],
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> TranscriptionVerbose: ...
    @overload
    def translate(
        self,
        file: FileInput,
        *,
        model: str = ...,
        response_format: TextFormat,
        prompt: str | None = ...,
        temperature: float | None = ...,
    ) -> str: ...
    def translate(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        response_format: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> Transcription | TranscriptionVerbose | str:
        """Translate speech into English text (a multilingual model); returns as :meth:`transcribe`."""
        return self._run(
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

    def stream_transcription(
        self,
        file: FileInput,
        *,
        model: str = "whisper-1",
        response_format: Literal["json", "text"] | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> Stream[TranscriptionStreamEvent]:
        """Transcribe with ``stream=true``: a :class:`Stream` of
        :class:`TranscriptionTextDeltaEvent` as the text is decoded, then one
        :class:`TranscriptionTextDoneEvent`. Errors before the stream starts
        raise here; one after raises from the iteration."""
        call = _calls.stream(
            file,
            model=model,
            language=language,
            prompt=prompt,
            response_format=response_format,
            temperature=temperature,
        )
        return Stream(self._send(call, stream=True), parse_stream_event)

    # -- jobs ----------------------------------------------------------------

    def create_job(
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
        return self._run(
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

    def get_job(self, job_id: str) -> AudioJob:
        """A job, with its typed ``result`` once it succeeded."""
        return self._run(_calls.get_job(job_id))

    def cancel_job(self, job_id: str) -> AudioJob:
        """Cancel a job (a finished one is returned unchanged)."""
        return self._run(_calls.cancel_job(job_id))

    def list_jobs(self, *, limit: int | None = None, after: str | None = None) -> SyncPage[AudioJob]:
        """The tenant's jobs, newest first (without results): a page of
        ``limit`` (1 to 100, default 20); iterating it goes on through every
        later page."""

        def fetch(cursor: str | None) -> SyncPage[AudioJob]:
            jobs, has_more, last_id = _calls.job_page_fields(self._fetch(_calls.jobs_page(limit, cursor)))
            return SyncPage(jobs, has_more=has_more, next_cursor=last_id, fetch=fetch)

        return fetch(after)

    def wait_for_job(
        self,
        job: AudioJob | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: Callable[[AudioJob], object] | None = None,
    ) -> AudioJob:
        """Poll a job until it ends: the succeeded job, its typed ``result``
        set. ``on_progress(job)`` is called after each poll that found the
        status or progress changed. Raises :class:`JobFailedError` when it
        failed or was cancelled, :class:`JobTimeoutError` when ``timeout``
        seconds passed first (the job goes on)."""
        job_id = job if isinstance(job, str) else job.id
        deadline = time.monotonic() + timeout
        seen: tuple[str, float] | None = None
        while True:
            current = self._fetch(_calls.get_job(job_id))
            if on_progress is not None and (current.status, current.progress) != seen:
                on_progress(current)
            seen = (current.status, current.progress)
            if current.status == "succeeded":
                return current
            if current.done:
                raise JobFailedError(current)
            left = deadline - time.monotonic()
            if left <= 0:
                raise JobTimeoutError(current, timeout)
            time.sleep(min(poll_interval, left))

    def get_webhook_secret(self) -> AudioWebhookSecret:
        """The secret this tenant's job webhooks are signed with now."""
        return self._run(_calls.get_webhook_secret())

    def rotate_webhook_secret(self, *, previous_secret_valid_seconds: int | None = None) -> AudioWebhookSecret:
        """A new webhook secret (a ``keys`` key); the old one keeps signing
        for ``previous_secret_valid_seconds`` (default a day)."""
        return self._run(_calls.rotate_webhook_secret(previous_secret_valid_seconds))

    # -- language --------------------------------------------------------------

    def embed(
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
        return self._run(_calls.embed(input, model=model, extra=extra))

    def detect_language(
        self,
        input: str | Sequence[str | Mapping[str, Any]],
        *,
        model: str | None = None,
        top_k: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> DetectLanguageResponse:
        """The language of each document (``data[i].language``, ``.confidence``)."""
        return self._run(_calls.detect_language(input, {"model": model, "top_k": top_k, **(extra_body or {})}))

    def redact_pii(
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
        return self._run(_calls.redact_pii(input, extra))

    def list_models(self) -> ModelList:
        """The models this deployment serves."""
        return self._run(_calls.list_models())

    def retrieve_model(self, model: str) -> Model:
        """One model (by id or alias)."""
        return self._run(_calls.retrieve_model(model))

    # -- tenants, keys, limits (admin) -------------------------------------------

    def create_tenant(self, name: str) -> Tenant:
        """Create a tenant (an ``admin`` key)."""
        return self._run(_calls.create_tenant(name))

    def create_tenant_key(self, tenant_id: str, scopes: Sequence[str], name: str | None = None) -> CreatedApiKey:
        """Create a key of a tenant (an ``admin`` key); ``secret`` is shown this once."""
        return self._run(_calls.create_tenant_key(tenant_id, scopes, name))

    def create_key(self, scopes: Sequence[str], name: str | None = None) -> CreatedApiKey:
        """Create a key of the caller's own tenant (a ``keys`` key)."""
        return self._run(_calls.create_key(scopes, name))

    def set_tenant_limits(self, tenant_id: str, **limits: int | None) -> Limits:
        """Set a tenant's limits (an ``admin`` key): ``requests_per_minute``,
        ``tokens_per_minute``, ``audio_seconds_per_minute``,
        ``concurrent_requests`` (``None``: no limit of that kind). In effect
        within a second."""
        return self._run(_calls.set_tenant_limits(tenant_id, limits))

    def set_tenant_budget(
        self, tenant_id: str, *, soft_limit: str | None = None, hard_limit: str | None = None
    ) -> Budget:
        """Set a tenant's monthly budget (an ``admin`` key), decimal strings;
        past ``hard_limit`` requests are refused with 429
        ``insufficient_quota`` (not retried)."""
        return self._run(_calls.set_tenant_budget(tenant_id, soft_limit, hard_limit))

    def set_key_budget(self, key_id: str, hard_limit: str | None) -> KeyBudget:
        """Give one of your tenant's keys a monthly budget of its own (a
        ``keys`` key, not the key itself), a decimal string; ``None``
        removes it. Past it the key's requests are refused with 429
        ``insufficient_quota`` (not retried)."""
        return self._run(_calls.set_key_budget(key_id, hard_limit))

    # -- usage and billing -----------------------------------------------------

    def budget(self) -> Budget:
        """The caller's budget this month (``billing:read``): its tenant's,
        and the calling key's own in ``key``."""
        return self._run(_calls.budget())

    def usage(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        bucket: Literal["day", "hour"] | None = None,
        group_by: Literal["model", "endpoint", "key", "service", "none"] | None = None,
    ) -> UsageReport:
        """The tenant's usage (a ``usage:read`` key): ``totals`` and per-bucket ``data``."""
        return self._run(_calls.usage({"start": start, "end": end, "bucket": bucket, "group_by": group_by}))

    def usage_csv(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        bucket: Literal["day", "hour"] | None = None,
        group_by: Literal["model", "endpoint", "key", "service", "none"] | None = None,
    ) -> str:
        """:meth:`usage` as CSV."""
        params = {"start": start, "end": end, "bucket": bucket, "group_by": group_by}
        return self._run(_calls.usage(params, csv=True))

    def usage_events(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> SyncPage[UsageEvent]:
        """The tenant's usage events, oldest first (a ``usage:read`` key): a
        page of ``page_size`` (default 1000); iterating it goes on through
        every later page. ``page.next_cursor`` is where to resume later
        (``cursor=``) to read only newer events."""

        def fetch(at: str | None) -> SyncPage[UsageEvent]:
            response = self._fetch(_calls.usage_events_page(start, end, page_size, at))
            events, has_more, next_cursor = _calls.usage_event_page_fields(response)
            return SyncPage(events, has_more=has_more, next_cursor=next_cursor, fetch=fetch)

        return fetch(cursor)

    def list_invoices(self, *, include_zero_lines: bool | None = None) -> InvoiceList:
        """The tenant's invoices, newest first, the current month a running
        ``draft`` (a ``billing:read`` key)."""
        return self._run(_calls.list_invoices(include_zero_lines))

    def get_invoice(self, invoice_id: str, *, include_zero_lines: bool | None = None) -> Invoice:
        """One invoice."""
        return self._run(_calls.get_invoice(invoice_id, include_zero_lines))

    def invoice_csv(self, invoice_id: str, *, include_zero_lines: bool | None = None) -> str:
        """One invoice as CSV, a row per line item."""
        return self._run(_calls.get_invoice(invoice_id, include_zero_lines, csv=True))

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Stratus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

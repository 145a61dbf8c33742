"""What ``Stratus`` and ``AsyncStratus`` share: each request described once
(:class:`Call`: method, path, body and how to read the answer), the typed
errors, uploads, raw responses and streams.

Hand-written, beside the code ``sdk/generate`` writes.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent

from .exceptions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    StratusError,
)
from .objects import (
    TranscriptionStreamEvent,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
)
from .retry import RETRIES_TAKEN

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
USER_AGENT = "stratus-client-python/0.1.0"

FileInput = str | Path | bytes | IO[bytes] | tuple[str, bytes]
"""An upload: a path, bytes, an open binary file, or ``(file name, bytes)``."""

TimestampGranularity = Literal["word", "segment"]
TextFormat = Literal["text", "srt", "vtt"]
ResponseFormat = Literal["json", "verbose_json", "text", "srt", "vtt"]
TEXT_FORMATS = frozenset({"text", "srt", "vtt"})

_BY_STATUS: dict[int, type[StratusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_from(response: httpx.Response) -> StratusError:
    """The typed error of a failed (read) response, with its envelope."""
    status = response.status_code
    content = response.content
    try:
        error = json.loads(content)["error"]
        if not isinstance(error, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        error = {"message": content.decode("utf-8", "replace") or f"HTTP {status}", "type": "unknown"}
    kind = _BY_STATUS.get(status, StratusError)
    return kind(status=status, error=error, response=response)


def upload(file: FileInput) -> tuple[str, bytes]:
    """``(file name, bytes)`` of an upload. Read whole (uploads are at most
    25 MiB) so that a retry can send it again and no handle leaks."""
    if isinstance(file, tuple):
        return file
    if isinstance(file, (str, Path)):
        path = Path(file)
        return path.name, path.read_bytes()
    if isinstance(file, bytes):
        return "audio", file
    name = getattr(file, "name", None)
    return (Path(name).name if isinstance(name, str) else "audio"), file.read()


def audio_form(
    *,
    model: str,
    language: str | None,
    prompt: str | None,
    response_format: str | None,
    temperature: float | None,
    timestamp_granularities: Sequence[str] | None,
    **more: str | None,
) -> dict[str, Any]:
    """The multipart fields of an audio request. ``timestamp_granularities``
    goes out as one ``timestamp_granularities[]`` field per value, as
    OpenAI's SDKs send it and the server reads it."""
    data: dict[str, Any] = {"model": model}
    for name, value in [
        ("language", language),
        ("prompt", prompt),
        ("response_format", response_format),
        *more.items(),
    ]:
        if value is not None:
            data[name] = value
    if temperature is not None:
        data["temperature"] = repr(float(temperature))
    if timestamp_granularities:
        if isinstance(timestamp_granularities, str):
            timestamp_granularities = [timestamp_granularities]
        data["timestamp_granularities[]"] = list(timestamp_granularities)
    return data


def without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def parse_stream_event(sse: ServerSentEvent) -> TranscriptionStreamEvent | None:
    """One event of a streamed transcription; ``error`` raises :class:`StratusError`."""
    if not sse.data:
        return None
    event = sse.json()
    kind = event.get("type")
    if kind == "transcript.text.delta":
        return TranscriptionTextDeltaEvent.from_dict(event)
    if kind == "transcript.text.done":
        return TranscriptionTextDoneEvent.from_dict(event)
    if kind == "error":
        raise StratusError(status=200, error=event.get("error") or {})
    return None  # An event this version does not know: skipped.


def _number(value: str) -> int | float:
    try:
        return int(value)
    except ValueError:
        return float(value)


@dataclass
class RateLimit:
    """One ``x-ratelimit-*`` family: ``limit``, ``remaining`` and ``reset``
    (the time until the bucket is full again, written as OpenAI does:
    ``20ms``, ``1.5s``, ``6m0s``)."""

    limit: int | float
    remaining: int | float
    reset: str


class RawResponse(Generic[T]):
    """An answer with its HTTP details (``client.with_raw_response.<call>``):
    ``headers``, ``status_code``, ``request_id`` (``x-request-id``),
    ``rate_limits``, ``usage`` (the ``x-stratus-usage-*`` headers),
    ``retries_taken``, and ``parse()`` for the typed object the call
    returns otherwise."""

    def __init__(self, http_response: httpx.Response, parse: Callable[[httpx.Response], T]) -> None:
        self.http_response = http_response
        self._parse = parse
        self._parsed: list[T] = []

    def parse(self) -> T:
        if not self._parsed:
            self._parsed.append(self._parse(self.http_response))
        return self._parsed[0]

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    @property
    def request_id(self) -> str | None:
        """The gateway's id of this request (also the ``request_id`` of its usage event)."""
        return self.headers.get("x-request-id")

    @property
    def retries_taken(self) -> int:
        """How many times the request was resent (429/503) before this answer."""
        return int(self.http_response.extensions.get(RETRIES_TAKEN, 0))

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        """The ``x-ratelimit-*`` headers by family (``requests``, ``tokens``,
        ``audio-seconds``); empty where no limit applies."""
        limits = {}
        for name, value in self.headers.items():
            if name.startswith("x-ratelimit-limit-"):
                family = name[len("x-ratelimit-limit-") :]
                limits[family] = RateLimit(
                    limit=_number(value),
                    remaining=_number(self.headers.get(f"x-ratelimit-remaining-{family}", "0")),
                    reset=self.headers.get(f"x-ratelimit-reset-{family}", ""),
                )
        return limits

    @property
    def usage(self) -> dict[str, int | float]:
        """What this request is metered for, from the ``x-stratus-usage-*``
        headers: e.g. ``{"characters": 41, "documents": 1}`` or
        ``{"audio_seconds": 4.2}``."""
        prefix = "x-stratus-usage-"
        return {
            name[len(prefix) :].replace("-", "_"): _number(value)
            for name, value in self.headers.items()
            if name.startswith(prefix)
        }

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {self.http_response.request.method} {self.http_response.url}>"


@dataclass
class Call:
    """One request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], Any]
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def request_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.json is not None:
            args["json"] = self.json
        if self.files is not None:
            args["files"] = self.files
        if self.data is not None:
            args["data"] = self.data
        return args


def parse_json(cls: Any) -> Callable[[httpx.Response], Any]:
    return lambda response: cls.from_dict(response.json())


def parse_text(response: httpx.Response) -> str:
    return response.text


class Stream(Generic[T]):
    """A streamed answer (server-sent events, read with httpx-sse):
    iterate for the events; ``response`` has the headers. Close it (or use
    ``with``) to stop early."""

    def __init__(self, response: httpx.Response, parse: Callable[[ServerSentEvent], T | None]) -> None:
        self.response = response
        self._events = self._read(parse)

    def _read(self, parse: Callable[[ServerSentEvent], T | None]) -> Generator[T, None, None]:
        try:
            for sse in EventSource(self.response).iter_sse():
                event = parse(sse)
                if event is not None:
                    yield event
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[T]:
        return self._events

    def __next__(self) -> T:
        return next(self._events)

    def close(self) -> None:
        self._events.close()
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """The async :class:`Stream`: ``async for``, ``await stream.close()``."""

    def __init__(self, response: httpx.Response, parse: Callable[[ServerSentEvent], T | None]) -> None:
        self.response = response
        self._events = self._read(parse)

    async def _read(self, parse: Callable[[ServerSentEvent], T | None]) -> AsyncGenerator[T, None]:
        try:
            async for sse in EventSource(self.response).aiter_sse():
                event = parse(sse)
                if event is not None:
                    yield event
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._events

    async def __anext__(self) -> T:
        return await self._events.__anext__()

    async def close(self) -> None:
        await self._events.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


# The calls ``with_raw_response`` offers: those answered by one response.
RAW_CALLS = frozenset(
    {
        "transcribe",
        "translate",
        "create_job",
        "get_job",
        "cancel_job",
        "get_webhook_secret",
        "rotate_webhook_secret",
        "embed",
        "detect_language",
        "redact_pii",
        "list_models",
        "retrieve_model",
        "create_tenant",
        "create_tenant_key",
        "create_key",
        "set_tenant_limits",
        "set_tenant_budget",
        "usage",
        "usage_csv",
        "list_invoices",
        "get_invoice",
        "invoice_csv",
    }
)


class WithRawResponse:
    """``client.with_raw_response``: the same calls, answering a
    :class:`RawResponse` (``await`` them on ``AsyncStratus``)."""

    def __init__(self, client: Any) -> None:
        self._client = copy.copy(client)
        self._client._raw = True

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in RAW_CALLS:
            raise AttributeError(f"{name!r} has no raw form (raw forms: {', '.join(sorted(RAW_CALLS))})")
        return getattr(self._client, name)


def settings(
    api_key: str | None, base_url: str | None, default_headers: Mapping[str, str] | None
) -> tuple[str, dict[str, str]]:
    """The base URL and headers of a client, from the arguments or the environment."""
    api_key = api_key if api_key is not None else os.environ.get("STRATUS_API_KEY")
    base_url = (base_url or os.environ.get("STRATUS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    headers = {"User-Agent": USER_AGENT, **(default_headers or {})}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return base_url, headers


__all__ = [
    "AsyncStream",
    "Call",
    "FileInput",
    "RateLimit",
    "RawResponse",
    "ResponseFormat",
    "Stream",
    "TextFormat",
    "TimestampGranularity",
    "WithRawResponse",
    "error_from",
]

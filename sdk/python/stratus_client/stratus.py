"""The friendly face of the generated client: one ``Stratus`` object with an
API key, a base URL, timeouts and retries, whose calls return typed models
and raise :class:`StratusError` (carrying the error envelope) on failure.

Hand-written (sdk/overlay/python), copied beside the generated code by
``sdk/generate``; every call goes through a generated endpoint function, so
request and response types come from ``openapi/stratus.json``. Streaming
(server-sent events) is done here: the generator does not read
``text/event-stream``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from .client import AuthenticatedClient
from .exceptions import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    StratusError,
)
from .retry import AsyncRetryTransport, RetryTransport
from .types import File, Response

DEFAULT_BASE_URL = "http://127.0.0.1:8080"

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


def error_from(status: int, content: bytes, headers: httpx.Headers) -> StratusError:
    """The typed error of a failed response, with its envelope."""
    try:
        envelope = json.loads(content)
        error = envelope["error"]
        if not isinstance(error, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        error = {"message": content.decode("utf-8", "replace") or f"HTTP {status}", "type": "unknown"}
    kind = _BY_STATUS.get(status, StratusError)
    return kind(status=status, error=error, headers=headers)


def unwrap(response: Response[Any]) -> Any:
    """The parsed body of a 2xx response; the typed error of any other."""
    status = int(response.status_code)
    if status >= 400:
        raise error_from(status, response.content, httpx.Headers(dict(response.headers)))
    if response.parsed is not None:
        return response.parsed
    return response.content.decode("utf-8")


def as_file(file: str | Path | bytes | IO[bytes] | File, file_name: str | None = None) -> File:
    """A generated ``File`` from a path, bytes or an open binary file."""
    if isinstance(file, File):
        return file
    if isinstance(file, (str, Path)):
        # Read whole (uploads are at most 25 MiB): no file handle to leak, and a
        # retry can send it again.
        path = Path(file)
        return File(payload=io.BytesIO(path.read_bytes()), file_name=file_name or path.name)
    if isinstance(file, bytes):
        return File(payload=io.BytesIO(file), file_name=file_name or "audio")
    return File(payload=file, file_name=file_name or getattr(file, "name", "audio"))


TEXT_FORMATS = frozenset({"text", "srt", "vtt"})


def multipart(form: Any) -> Any:
    """The form's multipart fields, booleans written `true`/`false` as the
    server reads them (the generator writes Python's `True`)."""
    fields = []
    for name, value in form.to_multipart():
        if value[0] is None and value[1] in (b"True", b"False"):
            value = (None, value[1].lower(), value[2])
        fields.append((name, value))
    return fields


def parse_event(data: str) -> dict[str, Any]:
    """One ``data:`` payload of a streamed transcription; an ``error`` event raises."""
    event = json.loads(data)
    if event.get("type") == "error":
        raise StratusError(status=200, error=event.get("error", {}), headers=httpx.Headers())
    return event


class Stratus:
    """A Stratus client.

    ``api_key`` defaults to ``$STRATUS_API_KEY`` and ``base_url`` to
    ``$STRATUS_BASE_URL`` (else ``http://127.0.0.1:8080``). ``timeout`` is in
    seconds. Answers 429 and 503 are retried ``max_retries`` times, waiting what
    ``Retry-After`` says (else exponential backoff), at most ``max_retry_wait``
    seconds each time.

    Every generated operation is reachable with ``client.client`` (an
    ``AuthenticatedClient``) and the modules of ``stratus_client.api``; the
    methods here cover the common ones and raise typed errors.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("STRATUS_API_KEY")
        base_url = (base_url or os.environ.get("STRATUS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url
        self.client = AuthenticatedClient(base_url=base_url, token=api_key or "", timeout=httpx.Timeout(timeout))
        self.client.set_httpx_client(
            httpx.Client(
                base_url=base_url,
                headers=headers,
                timeout=timeout,
                transport=RetryTransport(max_retries=max_retries, max_wait=max_retry_wait),
            )
        )
        self.client.set_async_httpx_client(
            httpx.AsyncClient(
                base_url=base_url,
                headers=headers,
                timeout=timeout,
                transport=AsyncRetryTransport(max_retries=max_retries, max_wait=max_retry_wait),
            )
        )

    # -- calling any generated operation -------------------------------------

    def call(self, operation: Any, **kwargs: Any) -> Any:
        """Run a generated operation module (``stratus_client.api.<tag>.<op>``)."""
        try:
            return unwrap(operation.sync_detailed(client=self.client, **kwargs))
        except httpx.TransportError as e:
            raise APIConnectionError(status=0, error={"message": str(e), "type": "connection_error"}) from e

    async def acall(self, operation: Any, **kwargs: Any) -> Any:
        """The async :meth:`call`."""
        try:
            return unwrap(await operation.asyncio_detailed(client=self.client, **kwargs))
        except httpx.TransportError as e:
            raise APIConnectionError(status=0, error={"message": str(e), "type": "connection_error"}) from e

    # -- audio ----------------------------------------------------------------

    def _audio_form(self, file: Any, model: str, fields: dict[str, Any]) -> Any:
        from .models import AudioForm

        return AudioForm(file=as_file(file), model=model, **fields)

    def transcribe(self, file: Any, *, model: str = "whisper-1", **fields: Any) -> Any:
        """Transcribe audio (a path, bytes or a binary file). ``fields`` are the
        form's other fields (``language``, ``prompt``, ``response_format``, …).
        Returns ``Transcription`` / ``TranscriptionVerbose``, or ``str`` for the
        text formats."""
        from .api.audio import create_transcription

        form = self._audio_form(file, model, fields)
        if fields.get("response_format") in TEXT_FORMATS:
            # The generator reads JSON bodies only.
            return self._post_text("/v1/audio/transcriptions", form)
        return self.call(create_transcription, body=form)

    def translate(self, file: Any, *, model: str = "whisper-1", **fields: Any) -> Any:
        """Translate speech into English text (see :meth:`transcribe`)."""
        from .api.audio import create_translation

        form = self._audio_form(file, model, fields)
        if fields.get("response_format") in TEXT_FORMATS:
            return self._post_text("/v1/audio/translations", form)
        return self.call(create_translation, body=form)

    def _post_text(self, path: str, form: Any) -> str:
        response = self.client.get_httpx_client().post(path, files=multipart(form))
        if response.status_code >= 400:
            raise error_from(response.status_code, response.content, response.headers)
        return response.text

    def stream_transcription(self, file: Any, *, model: str = "whisper-1", **fields: Any) -> Iterator[dict[str, Any]]:
        """Transcribe with ``stream=true``: yields each event as a dict
        (``transcript.text.delta`` then ``transcript.text.done``); an ``error``
        event raises :class:`StratusError`."""
        form = self._audio_form(file, model, {**fields, "stream": True})
        http = self.client.get_httpx_client()
        with http.stream("POST", "/v1/audio/transcriptions", files=multipart(form)) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from(response.status_code, response.content, response.headers)
            for line in response.iter_lines():
                if line.startswith("data:"):
                    yield parse_event(line[5:].strip())

    async def astream_transcription(
        self, file: Any, *, model: str = "whisper-1", **fields: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """The async :meth:`stream_transcription`."""
        form = self._audio_form(file, model, {**fields, "stream": True})
        http = self.client.get_async_httpx_client()
        async with http.stream("POST", "/v1/audio/transcriptions", files=multipart(form)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise error_from(response.status_code, response.content, response.headers)
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield parse_event(line[5:].strip())

    # -- language ---------------------------------------------------------------

    def embed(self, input: str | list[str], *, model: str, **fields: Any) -> Any:
        """Embeddings of one text or a list of texts."""
        from .api.embeddings import create_embeddings
        from .models import EmbeddingsRequest

        return self.call(create_embeddings, body=EmbeddingsRequest.from_dict({"input": input, "model": model, **fields}))

    def detect_language(self, input: Any, **fields: Any) -> Any:
        """The language of each document."""
        from .api.language import detect_language
        from .models import DetectRequest

        return self.call(detect_language, body=DetectRequest.from_dict({"input": input, **fields}))

    def redact_pii(self, input: Any, **fields: Any) -> Any:
        """Personal data found in each document, and its redacted text."""
        from .api.language import redact_pii
        from .models import PiiRequest

        return self.call(redact_pii, body=PiiRequest.from_dict({"input": input, **fields}))

    def list_models(self) -> Any:
        """The models this deployment serves."""
        from .api.models import list_models

        return self.call(list_models)

    # -- async twins ------------------------------------------------------------

    async def atranscribe(self, file: Any, *, model: str = "whisper-1", **fields: Any) -> Any:
        """The async :meth:`transcribe`."""
        from .api.audio import create_transcription

        form = self._audio_form(file, model, fields)
        if fields.get("response_format") in TEXT_FORMATS:
            return await self._apost_text("/v1/audio/transcriptions", form)
        return await self.acall(create_transcription, body=form)

    async def atranslate(self, file: Any, *, model: str = "whisper-1", **fields: Any) -> Any:
        """The async :meth:`translate`."""
        from .api.audio import create_translation

        form = self._audio_form(file, model, fields)
        if fields.get("response_format") in TEXT_FORMATS:
            return await self._apost_text("/v1/audio/translations", form)
        return await self.acall(create_translation, body=form)

    async def _apost_text(self, path: str, form: Any) -> str:
        response = await self.client.get_async_httpx_client().post(path, files=multipart(form))
        if response.status_code >= 400:
            raise error_from(response.status_code, response.content, response.headers)
        return response.text

    async def aembed(self, input: str | list[str], *, model: str, **fields: Any) -> Any:
        """The async :meth:`embed`."""
        from .api.embeddings import create_embeddings
        from .models import EmbeddingsRequest

        body = EmbeddingsRequest.from_dict({"input": input, "model": model, **fields})
        return await self.acall(create_embeddings, body=body)

    async def adetect_language(self, input: Any, **fields: Any) -> Any:
        """The async :meth:`detect_language`."""
        from .api.language import detect_language
        from .models import DetectRequest

        return await self.acall(detect_language, body=DetectRequest.from_dict({"input": input, **fields}))

    async def aredact_pii(self, input: Any, **fields: Any) -> Any:
        """The async :meth:`redact_pii`."""
        from .api.language import redact_pii
        from .models import PiiRequest

        return await self.acall(redact_pii, body=PiiRequest.from_dict({"input": input, **fields}))

    async def alist_models(self) -> Any:
        """The async :meth:`list_models`."""
        from .api.models import list_models

        return await self.acall(list_models)

    # -- tenants, keys, limits, usage and billing ------------------------------
    # Tenants, keys and usage totals come back as the JSON dicts the server
    # sends (their shapes are in openapi/stratus.json); limits and invoices
    # go through the generated operations and come back as typed models.
    # ``request_json`` reaches any other JSON route with the same key,
    # retries and typed errors.

    def request_json(self, method: str, path: str, *, json_body: Any = None, params: dict[str, str] | None = None) -> Any:
        """Any JSON route, with the key, the retries and the typed errors."""
        return self._send(method, path, json=json_body, params=params).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A successful response of any route (a typed error otherwise)."""
        try:
            response = self.client.get_httpx_client().request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise APIConnectionError(status=0, error={"message": str(e), "type": "connection_error"}) from e
        if response.status_code >= 400:
            raise error_from(response.status_code, response.content, response.headers)
        return response

    def create_tenant(self, name: str) -> dict[str, Any]:
        """Create a tenant (``POST /v1/admin/tenants``; an ``admin`` key)."""
        return self.request_json("POST", "/v1/admin/tenants", json_body={"name": name})

    def create_tenant_key(self, tenant_id: str, scopes: list[str], name: str | None = None) -> dict[str, Any]:
        """Create a key of a tenant (``POST /v1/admin/tenants/{id}/keys``; an
        ``admin`` key). The answer's ``secret`` (``sk_...``) is shown this once."""
        return self.request_json("POST", f"/v1/admin/tenants/{tenant_id}/keys", json_body={"scopes": scopes, "name": name})

    def create_key(self, scopes: list[str], name: str | None = None) -> dict[str, Any]:
        """Create a key of the caller's own tenant (``POST /v1/keys``; a ``keys`` key)."""
        return self.request_json("POST", "/v1/keys", json_body={"scopes": scopes, "name": name})

    def usage(self, **params: str) -> dict[str, Any]:
        """The tenant's usage (``GET /v1/usage``; a ``usage:read`` key):
        ``start``, ``end``, ``bucket`` (``day``/``hour``), ``group_by``."""
        return self.request_json("GET", "/v1/usage", params=params)

    def usage_events(self, *, page_size: int = 1000, **params: str) -> Iterator[dict[str, Any]]:
        """Every usage event of the tenant (``GET /v1/usage/events``, NDJSON; a
        ``usage:read`` key), oldest first, fetched page by page with the
        ``x-stratus-cursor`` the server sends; ``start``/``end`` narrow it."""
        cursor: str | None = None
        while True:
            query = {**params, "limit": str(page_size)}
            if cursor is not None:
                query["cursor"] = cursor
            response = self._send("GET", "/v1/usage/events", params=query)
            for line in response.text.splitlines():
                if line.strip():
                    yield json.loads(line)
            cursor = response.headers.get("x-stratus-cursor")
            if response.headers.get("x-stratus-has-more") != "true" or cursor is None:
                return

    def set_tenant_limits(self, tenant_id: str, **limits: int | None) -> Any:
        """Set a tenant's limits (``PUT /v1/admin/tenants/{id}/limits``; an
        ``admin`` key): ``requests_per_minute``, ``tokens_per_minute``,
        ``audio_seconds_per_minute``, ``concurrent_requests`` (``None``: no
        limit of that kind). Returns ``LimitsView``; in effect at once."""
        from .api.admin import set_tenant_limits
        from .models import LimitSpec

        return self.call(set_tenant_limits, tenant_id=tenant_id, body=LimitSpec(**limits))

    def list_invoices(self) -> Any:
        """The tenant's monthly invoices, newest first, the current month a
        running draft (``GET /v1/billing/invoices``; a ``billing:read`` key).
        Returns ``InvoiceList``; amounts are exact decimal strings."""
        from .api.billing import list_invoices

        return self.call(list_invoices)

    def get_invoice(self, invoice_id: str) -> Any:
        """One invoice (``GET /v1/billing/invoices/{id}``). Returns ``Invoice``."""
        from .api.billing import get_invoice

        return self.call(get_invoice, id=invoice_id)

    def invoice_csv(self, invoice_id: str) -> str:
        """One invoice as CSV, a row per line item."""
        return self._send("GET", f"/v1/billing/invoices/{invoice_id}", params={"format": "csv"}).text

    def close(self) -> None:
        self.client.get_httpx_client().close()

    async def aclose(self) -> None:
        await self.client.get_async_httpx_client().aclose()

    def __enter__(self) -> Stratus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

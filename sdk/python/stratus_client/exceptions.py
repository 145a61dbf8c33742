"""Typed errors carrying Stratus's error envelope
(``{"error": {"message", "type", "param", "code"}}``).

Hand-written (sdk/overlay/python), copied beside the generated code by
``sdk/generate``.
"""

from __future__ import annotations

from typing import Any

import httpx


class StratusError(Exception):
    """A failed request: the HTTP status and the envelope's fields."""

    def __init__(self, *, status: int, error: dict[str, Any], headers: httpx.Headers | None = None) -> None:
        self.status = status
        self.error = error
        self.headers = headers or httpx.Headers()
        self.message: str = str(error.get("message", ""))
        self.type: str | None = error.get("type")
        self.param: str | None = error.get("param")
        self.code: str | None = error.get("code")
        super().__init__(f"{status} {self.type}: {self.message}")

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait (429, 503), if it said."""
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class BadRequestError(StratusError):
    """400, 413, 415, 422: the request is wrong; fix it before retrying."""


class AuthenticationError(StratusError):
    """401: no API key, or an invalid one."""


class PermissionDeniedError(StratusError):
    """403: the key lacks the scope."""


class NotFoundError(StratusError):
    """404: no such resource or model."""


class RateLimitError(StratusError):
    """429: a rate or quota limit (after the retries ran out)."""


class ServiceUnavailableError(StratusError):
    """503: overloaded or not ready (after the retries ran out)."""


class APIConnectionError(StratusError):
    """The server could not be reached or timed out."""

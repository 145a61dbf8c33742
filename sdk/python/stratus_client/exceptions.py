"""Typed errors carrying Stratus's error envelope
(``{"error": {"message", "type", "param", "code"}}``).

Hand-written, beside the code ``sdk/generate`` writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .objects import AudioJob


class StratusError(Exception):
    """A failed request: the HTTP status and the envelope's fields."""

    def __init__(
        self,
        *,
        status: int,
        error: dict[str, Any],
        headers: httpx.Headers | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.response = response
        self.headers = headers if headers is not None else response.headers if response is not None else httpx.Headers()
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

    @property
    def request_id(self) -> str | None:
        """The gateway's ``x-request-id`` of the failed request (quote it in a report)."""
        return self.headers.get("x-request-id")

    @property
    def retries_taken(self) -> int:
        """How many times the request was resent before this answer."""
        if self.response is None:
            return 0
        return int(self.response.extensions.get("stratus_retries_taken", 0))


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
    """The server could not be reached (connection errors are retried
    ``max_retries`` times first)."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class JobFailedError(StratusError):
    """``wait_for_job``: the job ended ``failed`` or ``cancelled``; ``job``
    is its last state (``job.error`` says why it failed)."""

    def __init__(self, job: AudioJob) -> None:
        error = {
            "message": job.error.message if job.error else f"job {job.id} was {job.status}",
            "type": "job_" + job.status,
            "param": None,
            "code": job.error.code if job.error else job.status,
        }
        super().__init__(status=200, error=error)
        self.job = job


class JobTimeoutError(StratusError, TimeoutError):
    """``wait_for_job``: the job had not ended within ``timeout``; ``job`` is
    its last state (it goes on running: wait again or cancel it)."""

    def __init__(self, job: AudioJob, timeout: float) -> None:
        error = {
            "message": f"job {job.id} is still {job.status} after {timeout:g} s",
            "type": "timeout",
            "param": None,
            "code": "job_timeout",
        }
        super().__init__(status=0, error=error)
        self.job = job


class WebhookVerificationError(ValueError):
    """A webhook delivery whose signature does not verify: missing, made
    with another secret, for another body, or too old (replayed)."""

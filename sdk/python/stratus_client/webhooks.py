"""Verifying the webhooks Stratus POSTs when a job ends.

Hand-written, beside the code ``sdk/generate`` writes. The scheme (the server's ``jobs/webhook.rs``): header
``x-stratus-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]``, each
``<hex>`` an HMAC-SHA256 over ``<t>.<body>`` keyed with the tenant's signing
secret, the whole ``whsec_…`` string (``Stratus.get_webhook_secret()``).
During a secret rotation a delivery carries one ``v1`` per valid secret;
any match verifies. The event name is in ``x-stratus-event``
(``audio.job.succeeded`` / ``audio.job.failed``).

```python
from stratus_client.webhooks import unwrap

event = unwrap(request.body, request.headers, secret=os.environ["STRATUS_WEBHOOK_SECRET"])
print(event.type, event.job.id, event.job.result)
```
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .exceptions import WebhookVerificationError
from .objects import AudioJob

SIGNATURE_HEADER = "x-stratus-signature"
EVENT_HEADER = "x-stratus-event"
DEFAULT_TOLERANCE = 300.0
"""Seconds a delivery's timestamp may be from now (either way) before it
is refused as a replay."""


def _as_bytes(payload: bytes | bytearray | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def _header(headers: Mapping[str, str] | str, name: str) -> str | None:
    if isinstance(headers, str):
        return headers
    value = headers.get(name)
    if value is None:
        # Plain dicts are case-sensitive; HTTP header names are not.
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``x-stratus-signature`` value the server would send for
    ``payload`` at ``timestamp`` (default now): for tests of receivers."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + _as_bytes(payload), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    payload: bytes | str,
    headers: Mapping[str, str] | str,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a delivery: ``payload`` is the raw request body (exactly the
    bytes received, before any JSON parsing), ``headers`` the request's
    headers (or the ``x-stratus-signature`` value itself), ``secret`` the
    tenant's ``whsec_…``. Raises :class:`WebhookVerificationError` unless a
    ``v1`` signature matches (compared in constant time) and the timestamp
    is within ``tolerance`` seconds of ``now``."""
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise WebhookVerificationError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookVerificationError("the signature's timestamp is not a number") from None
        elif key == "v1":
            signatures.append(value.strip().lower())
    if timestamp is None:
        raise WebhookVerificationError("the signature has no timestamp (t=)")
    if not signatures:
        raise WebhookVerificationError("the signature has no v1= value")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"the signature's timestamp is {abs(now - timestamp):.0f} s from now (tolerance {tolerance:g} s)"
        )
    expected = sign(payload, secret, timestamp).split("v1=", 1)[1]
    # Check every candidate, so the time taken does not say which matched.
    matched = False
    for signature in signatures:
        matched |= hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii"))
    if not matched:
        raise WebhookVerificationError("no v1 signature matches this body and secret")


@dataclass(kw_only=True)
class WebhookEvent:
    """A verified delivery: ``type`` (``audio.job.succeeded`` or
    ``audio.job.failed``) and the finished job, with its result."""

    type: str
    job: AudioJob


def unwrap(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """:func:`verify_signature`, then the delivery as a typed
    :class:`WebhookEvent`."""
    verify_signature(payload, headers, secret, tolerance=tolerance, now=now)
    job = AudioJob.from_dict(json.loads(_as_bytes(payload)))
    event = _header(headers, EVENT_HEADER) or f"audio.job.{job.status}"
    return WebhookEvent(type=event, job=job)


__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WebhookEvent",
    "WebhookVerificationError",
    "sign",
    "unwrap",
    "verify_signature",
]

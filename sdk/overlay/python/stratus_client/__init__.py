"""A client library for the Stratus API.

``Stratus`` and ``AsyncStratus`` (hand-written) return the plain dataclasses
of :mod:`stratus_client.objects`; :mod:`stratus_client.webhooks` verifies
job webhooks. The generated ``AuthenticatedClient``, models
(``stratus_client.models``) and operations (``stratus_client.api``) cover
every route of ``openapi/stratus.json``.
"""

from ._base import AsyncStream, RateLimit, RawResponse, Stream
from .async_stratus import AsyncStratus
from .client import AuthenticatedClient, Client
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
    WebhookVerificationError,
)
from .objects import (
    AudioJob,
    AudioJobError,
    AudioUsage,
    AudioWebhookSecret,
    CreateEmbeddingResponse,
    DetectLanguageResponse,
    Embedding,
    EntitiesResponse,
    Invoice,
    InvoiceList,
    Model,
    ModelList,
    Transcription,
    TranscriptionSegment,
    TranscriptionStreamEvent,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionVerbose,
    TranscriptionWord,
    UsageEvent,
    UsageReport,
)
from .pagination import AsyncPage, AsyncPaginator, SyncPage
from .stratus import Stratus

__all__ = (
    "APIConnectionError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncStratus",
    "AsyncStream",
    "AudioJob",
    "AudioJobError",
    "AudioUsage",
    "AudioWebhookSecret",
    "AuthenticatedClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "CreateEmbeddingResponse",
    "DetectLanguageResponse",
    "Embedding",
    "EntitiesResponse",
    "Invoice",
    "InvoiceList",
    "JobFailedError",
    "JobTimeoutError",
    "Model",
    "ModelList",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "ServiceUnavailableError",
    "Stratus",
    "StratusError",
    "Stream",
    "SyncPage",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionStreamEvent",
    "TranscriptionTextDeltaEvent",
    "TranscriptionTextDoneEvent",
    "TranscriptionVerbose",
    "TranscriptionWord",
    "UsageEvent",
    "UsageReport",
    "WebhookVerificationError",
)

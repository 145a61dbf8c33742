"""A client library for the Stratus API: ``Stratus`` (hand-written, in
``stratus.py``) over the generated ``AuthenticatedClient``, models and
operations."""

from .client import AuthenticatedClient, Client
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
from .stratus import Stratus

__all__ = (
    "APIConnectionError",
    "AuthenticatedClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Stratus",
    "StratusError",
)

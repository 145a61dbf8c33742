from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_key import CreateKey
from ...models.created_api_key import CreatedApiKey
from ...models.error_envelope import ErrorEnvelope
from ...types import Response


def _get_kwargs(
    *,
    body: CreateKey,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/keys",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreatedApiKey | ErrorEnvelope | None:
    if response.status_code == 201:
        response_201 = CreatedApiKey.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = ErrorEnvelope.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorEnvelope.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorEnvelope.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreatedApiKey | ErrorEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateKey,
) -> Response[CreatedApiKey | ErrorEnvelope]:
    """Create an API key for your tenant (`keys` scope).

     It may hold only scopes you hold yourself, never `admin`. Made with an
    API key, it expires no later than that key: without `expires_in_days`
    it expires with it, and a later expiry is refused (400). A tenant
    holds at most a configured number of working keys (409
    `key_limit_reached`: revoke one first). The answer carries its
    `secret` this once.

    Args:
        body (CreateKey): A new API key. Example: {'expires_in_days': 90, 'name': 'backend',
            'scopes': ['speech', 'language']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedApiKey | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateKey,
) -> CreatedApiKey | ErrorEnvelope | None:
    """Create an API key for your tenant (`keys` scope).

     It may hold only scopes you hold yourself, never `admin`. Made with an
    API key, it expires no later than that key: without `expires_in_days`
    it expires with it, and a later expiry is refused (400). A tenant
    holds at most a configured number of working keys (409
    `key_limit_reached`: revoke one first). The answer carries its
    `secret` this once.

    Args:
        body (CreateKey): A new API key. Example: {'expires_in_days': 90, 'name': 'backend',
            'scopes': ['speech', 'language']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedApiKey | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateKey,
) -> Response[CreatedApiKey | ErrorEnvelope]:
    """Create an API key for your tenant (`keys` scope).

     It may hold only scopes you hold yourself, never `admin`. Made with an
    API key, it expires no later than that key: without `expires_in_days`
    it expires with it, and a later expiry is refused (400). A tenant
    holds at most a configured number of working keys (409
    `key_limit_reached`: revoke one first). The answer carries its
    `secret` this once.

    Args:
        body (CreateKey): A new API key. Example: {'expires_in_days': 90, 'name': 'backend',
            'scopes': ['speech', 'language']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedApiKey | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateKey,
) -> CreatedApiKey | ErrorEnvelope | None:
    """Create an API key for your tenant (`keys` scope).

     It may hold only scopes you hold yourself, never `admin`. Made with an
    API key, it expires no later than that key: without `expires_in_days`
    it expires with it, and a later expiry is refused (400). A tenant
    holds at most a configured number of working keys (409
    `key_limit_reached`: revoke one first). The answer carries its
    `secret` this once.

    Args:
        body (CreateKey): A new API key. Example: {'expires_in_days': 90, 'name': 'backend',
            'scopes': ['speech', 'language']}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedApiKey | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.login_request import LoginRequest
from ...models.login_response import LoginResponse
from ...types import Response


def _get_kwargs(
    *,
    body: LoginRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/auth/login",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | LoginResponse | None:
    if response.status_code == 200:
        response_200 = LoginResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

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
) -> Response[ErrorEnvelope | LoginResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: LoginRequest,
) -> Response[ErrorEnvelope | LoginResponse]:
    """Sign in to the dashboard.

     Checks email and password and answers a session token, in the body (for
    scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
    SameSite=Strict `stratus_session` cookie (for the browser; `Secure`
    when reached over TLS). A wrong email and a wrong password are the same
    401; a disabled user with the right password is 403. Attempts are
    throttled per client address and per account (429 with `Retry-After`;
    failures count, a success resets the account's count from that
    address); 503 when every password check slot is busy.

    Args:
        body (LoginRequest): A dashboard user's credentials. Example: {'email':
            'owner@example.com', 'password': 'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | LoginResponse]
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
    client: AuthenticatedClient,
    body: LoginRequest,
) -> ErrorEnvelope | LoginResponse | None:
    """Sign in to the dashboard.

     Checks email and password and answers a session token, in the body (for
    scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
    SameSite=Strict `stratus_session` cookie (for the browser; `Secure`
    when reached over TLS). A wrong email and a wrong password are the same
    401; a disabled user with the right password is 403. Attempts are
    throttled per client address and per account (429 with `Retry-After`;
    failures count, a success resets the account's count from that
    address); 503 when every password check slot is busy.

    Args:
        body (LoginRequest): A dashboard user's credentials. Example: {'email':
            'owner@example.com', 'password': 'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | LoginResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: LoginRequest,
) -> Response[ErrorEnvelope | LoginResponse]:
    """Sign in to the dashboard.

     Checks email and password and answers a session token, in the body (for
    scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
    SameSite=Strict `stratus_session` cookie (for the browser; `Secure`
    when reached over TLS). A wrong email and a wrong password are the same
    401; a disabled user with the right password is 403. Attempts are
    throttled per client address and per account (429 with `Retry-After`;
    failures count, a success resets the account's count from that
    address); 503 when every password check slot is busy.

    Args:
        body (LoginRequest): A dashboard user's credentials. Example: {'email':
            'owner@example.com', 'password': 'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | LoginResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: LoginRequest,
) -> ErrorEnvelope | LoginResponse | None:
    """Sign in to the dashboard.

     Checks email and password and answers a session token, in the body (for
    scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
    SameSite=Strict `stratus_session` cookie (for the browser; `Secure`
    when reached over TLS). A wrong email and a wrong password are the same
    401; a disabled user with the right password is 403. Attempts are
    throttled per client address and per account (429 with `Retry-After`;
    failures count, a success resets the account's count from that
    address); 503 when every password check slot is busy.

    Args:
        body (LoginRequest): A dashboard user's credentials. Example: {'email':
            'owner@example.com', 'password': 'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | LoginResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

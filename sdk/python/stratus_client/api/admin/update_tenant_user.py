from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.update_user import UpdateUser
from ...models.user import User
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    user_id: str,
    *,
    body: UpdateUser,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/v1/admin/tenants/{tenant_id}/users/{user_id}".format(
            tenant_id=quote(str(tenant_id), safe=""),
            user_id=quote(str(user_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorEnvelope | User | None:
    if response.status_code == 200:
        response_200 = User.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

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
) -> Response[ErrorEnvelope | User]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    user_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateUser,
) -> Response[ErrorEnvelope | User]:
    """Change a tenant's dashboard user (operators: `admin` scope): its role,
    disabled or not, its password.

     Disabling the user or setting its password ends every session it has,
    on every gateway within a second; a new role applies to its open
    sessions within a second. Another tenant's user is 404.

    Args:
        tenant_id (str):
        user_id (str):
        body (UpdateUser): Changes to a dashboard user; at least one field. Example: {'disabled':
            True, 'role': 'viewer'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | User]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        user_id=user_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    user_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateUser,
) -> ErrorEnvelope | User | None:
    """Change a tenant's dashboard user (operators: `admin` scope): its role,
    disabled or not, its password.

     Disabling the user or setting its password ends every session it has,
    on every gateway within a second; a new role applies to its open
    sessions within a second. Another tenant's user is 404.

    Args:
        tenant_id (str):
        user_id (str):
        body (UpdateUser): Changes to a dashboard user; at least one field. Example: {'disabled':
            True, 'role': 'viewer'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | User
    """

    return sync_detailed(
        tenant_id=tenant_id,
        user_id=user_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    user_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateUser,
) -> Response[ErrorEnvelope | User]:
    """Change a tenant's dashboard user (operators: `admin` scope): its role,
    disabled or not, its password.

     Disabling the user or setting its password ends every session it has,
    on every gateway within a second; a new role applies to its open
    sessions within a second. Another tenant's user is 404.

    Args:
        tenant_id (str):
        user_id (str):
        body (UpdateUser): Changes to a dashboard user; at least one field. Example: {'disabled':
            True, 'role': 'viewer'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | User]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        user_id=user_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    user_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: UpdateUser,
) -> ErrorEnvelope | User | None:
    """Change a tenant's dashboard user (operators: `admin` scope): its role,
    disabled or not, its password.

     Disabling the user or setting its password ends every session it has,
    on every gateway within a second; a new role applies to its open
    sessions within a second. Another tenant's user is 404.

    Args:
        tenant_id (str):
        user_id (str):
        body (UpdateUser): Changes to a dashboard user; at least one field. Example: {'disabled':
            True, 'role': 'viewer'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | User
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            user_id=user_id,
            client=client,
            body=body,
        )
    ).parsed

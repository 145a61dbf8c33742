from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.key_budget_body import KeyBudgetBody
from ...models.key_budget_view import KeyBudgetView
from ...types import Response


def _get_kwargs(
    key_id: str,
    *,
    body: KeyBudgetBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/keys/{key_id}/budget".format(
            key_id=quote(str(key_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | KeyBudgetView | None:
    if response.status_code == 200:
        response_200 = KeyBudgetView.from_dict(response.json())

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

    if response.status_code == 415:
        response_415 = ErrorEnvelope.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | KeyBudgetView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: KeyBudgetBody,
) -> Response[ErrorEnvelope | KeyBudgetView]:
    """Give one of your tenant's API keys a monthly budget of its own (`keys`
    scope).

     The key's requests are refused with 429 `insufficient_quota` once its
    month's spend reaches the limit, whatever is left of the tenant's
    budget. Spend the key made earlier this month counts. A key cannot
    change its own budget, nor that of a key holding a scope it lacks
    (403), as for revoking.

    Args:
        key_id (str):
        body (KeyBudgetBody): An API key's own monthly budget.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | KeyBudgetView]
    """

    kwargs = _get_kwargs(
        key_id=key_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    key_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: KeyBudgetBody,
) -> ErrorEnvelope | KeyBudgetView | None:
    """Give one of your tenant's API keys a monthly budget of its own (`keys`
    scope).

     The key's requests are refused with 429 `insufficient_quota` once its
    month's spend reaches the limit, whatever is left of the tenant's
    budget. Spend the key made earlier this month counts. A key cannot
    change its own budget, nor that of a key holding a scope it lacks
    (403), as for revoking.

    Args:
        key_id (str):
        body (KeyBudgetBody): An API key's own monthly budget.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | KeyBudgetView
    """

    return sync_detailed(
        key_id=key_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    key_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: KeyBudgetBody,
) -> Response[ErrorEnvelope | KeyBudgetView]:
    """Give one of your tenant's API keys a monthly budget of its own (`keys`
    scope).

     The key's requests are refused with 429 `insufficient_quota` once its
    month's spend reaches the limit, whatever is left of the tenant's
    budget. Spend the key made earlier this month counts. A key cannot
    change its own budget, nor that of a key holding a scope it lacks
    (403), as for revoking.

    Args:
        key_id (str):
        body (KeyBudgetBody): An API key's own monthly budget.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | KeyBudgetView]
    """

    kwargs = _get_kwargs(
        key_id=key_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    key_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: KeyBudgetBody,
) -> ErrorEnvelope | KeyBudgetView | None:
    """Give one of your tenant's API keys a monthly budget of its own (`keys`
    scope).

     The key's requests are refused with 429 `insufficient_quota` once its
    month's spend reaches the limit, whatever is left of the tenant's
    budget. Spend the key made earlier this month counts. A key cannot
    change its own budget, nor that of a key holding a scope it lacks
    (403), as for revoking.

    Args:
        key_id (str):
        body (KeyBudgetBody): An API key's own monthly budget.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | KeyBudgetView
    """

    return (
        await asyncio_detailed(
            key_id=key_id,
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.usage import Usage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    start: str | Unset = UNSET,
    end: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
    group_by: str | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["start"] = start

    params["end"] = end

    params["bucket"] = bucket

    params["group_by"] = group_by

    params["format"] = format_

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/usage",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorEnvelope | Usage | None:
    if response.status_code == 200:
        response_200 = Usage.from_dict(response.json())

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
) -> Response[ErrorEnvelope | Usage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    start: str | Unset = UNSET,
    end: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
    group_by: str | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> Response[ErrorEnvelope | Usage]:
    """Read your tenant's usage.

     Totals and per-bucket sums (UTC hours or days) of requests, audio
    seconds, tokens, characters and documents, optionally per model,
    endpoint, key or service; `format=csv` for a spreadsheet.

    Args:
        start (str | Unset):
        end (str | Unset):
        bucket (str | Unset):
        group_by (str | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | Usage]
    """

    kwargs = _get_kwargs(
        start=start,
        end=end,
        bucket=bucket,
        group_by=group_by,
        format_=format_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    start: str | Unset = UNSET,
    end: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
    group_by: str | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> ErrorEnvelope | Usage | None:
    """Read your tenant's usage.

     Totals and per-bucket sums (UTC hours or days) of requests, audio
    seconds, tokens, characters and documents, optionally per model,
    endpoint, key or service; `format=csv` for a spreadsheet.

    Args:
        start (str | Unset):
        end (str | Unset):
        bucket (str | Unset):
        group_by (str | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | Usage
    """

    return sync_detailed(
        client=client,
        start=start,
        end=end,
        bucket=bucket,
        group_by=group_by,
        format_=format_,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    start: str | Unset = UNSET,
    end: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
    group_by: str | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> Response[ErrorEnvelope | Usage]:
    """Read your tenant's usage.

     Totals and per-bucket sums (UTC hours or days) of requests, audio
    seconds, tokens, characters and documents, optionally per model,
    endpoint, key or service; `format=csv` for a spreadsheet.

    Args:
        start (str | Unset):
        end (str | Unset):
        bucket (str | Unset):
        group_by (str | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | Usage]
    """

    kwargs = _get_kwargs(
        start=start,
        end=end,
        bucket=bucket,
        group_by=group_by,
        format_=format_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    start: str | Unset = UNSET,
    end: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
    group_by: str | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> ErrorEnvelope | Usage | None:
    """Read your tenant's usage.

     Totals and per-bucket sums (UTC hours or days) of requests, audio
    seconds, tokens, characters and documents, optionally per model,
    endpoint, key or service; `format=csv` for a spreadsheet.

    Args:
        start (str | Unset):
        end (str | Unset):
        bucket (str | Unset):
        group_by (str | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | Usage
    """

    return (
        await asyncio_detailed(
            client=client,
            start=start,
            end=end,
            bucket=bucket,
            group_by=group_by,
            format_=format_,
        )
    ).parsed

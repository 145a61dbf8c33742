from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.invoice_list import InvoiceList
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    format_: str | Unset = UNSET,
    include_zero_lines: bool | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["format"] = format_

    params["include_zero_lines"] = include_zero_lines

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/billing/invoices",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | InvoiceList | None:
    if response.status_code == 200:
        response_200 = InvoiceList.from_dict(response.json())

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
) -> Response[ErrorEnvelope | InvoiceList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    format_: str | Unset = UNSET,
    include_zero_lines: bool | Unset = UNSET,
) -> Response[ErrorEnvelope | InvoiceList]:
    """The caller's invoices.

     Every month since the first usage, newest first; the current month is
    a `draft` recomputed on each read, finished months are `closed` and
    never change. Amounts are exact decimal strings.

    Args:
        format_ (str | Unset):
        include_zero_lines (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | InvoiceList]
    """

    kwargs = _get_kwargs(
        format_=format_,
        include_zero_lines=include_zero_lines,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    format_: str | Unset = UNSET,
    include_zero_lines: bool | Unset = UNSET,
) -> ErrorEnvelope | InvoiceList | None:
    """The caller's invoices.

     Every month since the first usage, newest first; the current month is
    a `draft` recomputed on each read, finished months are `closed` and
    never change. Amounts are exact decimal strings.

    Args:
        format_ (str | Unset):
        include_zero_lines (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | InvoiceList
    """

    return sync_detailed(
        client=client,
        format_=format_,
        include_zero_lines=include_zero_lines,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    format_: str | Unset = UNSET,
    include_zero_lines: bool | Unset = UNSET,
) -> Response[ErrorEnvelope | InvoiceList]:
    """The caller's invoices.

     Every month since the first usage, newest first; the current month is
    a `draft` recomputed on each read, finished months are `closed` and
    never change. Amounts are exact decimal strings.

    Args:
        format_ (str | Unset):
        include_zero_lines (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | InvoiceList]
    """

    kwargs = _get_kwargs(
        format_=format_,
        include_zero_lines=include_zero_lines,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    format_: str | Unset = UNSET,
    include_zero_lines: bool | Unset = UNSET,
) -> ErrorEnvelope | InvoiceList | None:
    """The caller's invoices.

     Every month since the first usage, newest first; the current month is
    a `draft` recomputed on each read, finished months are `closed` and
    never change. Amounts are exact decimal strings.

    Args:
        format_ (str | Unset):
        include_zero_lines (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | InvoiceList
    """

    return (
        await asyncio_detailed(
            client=client,
            format_=format_,
            include_zero_lines=include_zero_lines,
        )
    ).parsed

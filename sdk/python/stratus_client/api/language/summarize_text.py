from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.summarize_request import SummarizeRequest
from ...models.summarize_response import SummarizeResponse
from ...types import Response


def _get_kwargs(
    *,
    body: SummarizeRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/language/summarize",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | SummarizeResponse | None:
    if response.status_code == 200:
        response_200 = SummarizeResponse.from_dict(response.json())

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
) -> Response[ErrorEnvelope | SummarizeResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SummarizeRequest,
) -> Response[ErrorEnvelope | SummarizeResponse]:
    """Summarize each document: its most central sentences, or a new text.

     Extractive (default): the best `max_sentences` (default 3) or `ratio` of the sentences, in
    their original order, with char offsets and scores; or, with `mode:
    "abstractive"`, a summary written by a text-generation model
    (SmolLM2), at most `max_tokens` long.

    Args:
        body (SummarizeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | SummarizeResponse]
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
    body: SummarizeRequest,
) -> ErrorEnvelope | SummarizeResponse | None:
    """Summarize each document: its most central sentences, or a new text.

     Extractive (default): the best `max_sentences` (default 3) or `ratio` of the sentences, in
    their original order, with char offsets and scores; or, with `mode:
    "abstractive"`, a summary written by a text-generation model
    (SmolLM2), at most `max_tokens` long.

    Args:
        body (SummarizeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | SummarizeResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SummarizeRequest,
) -> Response[ErrorEnvelope | SummarizeResponse]:
    """Summarize each document: its most central sentences, or a new text.

     Extractive (default): the best `max_sentences` (default 3) or `ratio` of the sentences, in
    their original order, with char offsets and scores; or, with `mode:
    "abstractive"`, a summary written by a text-generation model
    (SmolLM2), at most `max_tokens` long.

    Args:
        body (SummarizeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | SummarizeResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SummarizeRequest,
) -> ErrorEnvelope | SummarizeResponse | None:
    """Summarize each document: its most central sentences, or a new text.

     Extractive (default): the best `max_sentences` (default 3) or `ratio` of the sentences, in
    their original order, with char offsets and scores; or, with `mode:
    "abstractive"`, a summary written by a text-generation model
    (SmolLM2), at most `max_tokens` long.

    Args:
        body (SummarizeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | SummarizeResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audio_form import AudioForm
from ...models.error_envelope import ErrorEnvelope
from ...models.transcription import Transcription
from ...models.transcription_verbose import TranscriptionVerbose
from ...types import Response


def _get_kwargs(
    *,
    body: AudioForm,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/audio/transcriptions",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | Transcription | TranscriptionVerbose | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> Transcription | TranscriptionVerbose:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_transcription_response_type_0 = TranscriptionVerbose.from_dict(data)

                return componentsschemas_transcription_response_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_transcription_response_type_1 = Transcription.from_dict(data)

            return componentsschemas_transcription_response_type_1

        response_200 = _parse_response_200(response.json())

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
) -> Response[ErrorEnvelope | Transcription | TranscriptionVerbose]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AudioForm,
) -> Response[ErrorEnvelope | Transcription | TranscriptionVerbose]:
    """Transcribe audio into text in its own language.

     OpenAI-compatible (`/v1/audio/transcriptions`): upload the file as
    `multipart/form-data`; the answer is in `response_format`, or streamed as
    server-sent events with `stream=true`.

    Args:
        body (AudioForm): The multipart form of `POST /v1/audio/transcriptions` and
            `/v1/audio/translations` (OpenAI's fields).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | Transcription | TranscriptionVerbose]
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
    body: AudioForm,
) -> ErrorEnvelope | Transcription | TranscriptionVerbose | None:
    """Transcribe audio into text in its own language.

     OpenAI-compatible (`/v1/audio/transcriptions`): upload the file as
    `multipart/form-data`; the answer is in `response_format`, or streamed as
    server-sent events with `stream=true`.

    Args:
        body (AudioForm): The multipart form of `POST /v1/audio/transcriptions` and
            `/v1/audio/translations` (OpenAI's fields).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | Transcription | TranscriptionVerbose
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AudioForm,
) -> Response[ErrorEnvelope | Transcription | TranscriptionVerbose]:
    """Transcribe audio into text in its own language.

     OpenAI-compatible (`/v1/audio/transcriptions`): upload the file as
    `multipart/form-data`; the answer is in `response_format`, or streamed as
    server-sent events with `stream=true`.

    Args:
        body (AudioForm): The multipart form of `POST /v1/audio/transcriptions` and
            `/v1/audio/translations` (OpenAI's fields).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | Transcription | TranscriptionVerbose]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: AudioForm,
) -> ErrorEnvelope | Transcription | TranscriptionVerbose | None:
    """Transcribe audio into text in its own language.

     OpenAI-compatible (`/v1/audio/transcriptions`): upload the file as
    `multipart/form-data`; the answer is in `response_format`, or streamed as
    server-sent events with `stream=true`.

    Args:
        body (AudioForm): The multipart form of `POST /v1/audio/transcriptions` and
            `/v1/audio/translations` (OpenAI's fields).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | Transcription | TranscriptionVerbose
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

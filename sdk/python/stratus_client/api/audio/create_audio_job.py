from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audio_job import AudioJob
from ...models.audio_job_form import AudioJobForm
from ...models.error_envelope import ErrorEnvelope
from ...types import Response


def _get_kwargs(
    *,
    body: AudioJobForm,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/audio/jobs",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AudioJob | ErrorEnvelope | None:
    if response.status_code == 202:
        response_202 = AudioJob.from_dict(response.json())

        return response_202

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
) -> Response[AudioJob | ErrorEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AudioJobForm,
) -> Response[AudioJob | ErrorEnvelope]:
    """Submit an asynchronous transcription or translation job.

     The form of `/v1/audio/transcriptions` plus `task` and `webhook_url`.
    Everything cheap to check (form, model, language, the audio's container,
    codec and declared length) is checked now, so a bad request is refused
    at once; the job then waits for a worker. Poll `GET
    /v1/audio/jobs/{id}` or receive a signed webhook when it ends.

    Args:
        body (AudioJobForm): The multipart form of `POST /v1/audio/jobs`: the fields of
            [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
            `webhook_url`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AudioJob | ErrorEnvelope]
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
    body: AudioJobForm,
) -> AudioJob | ErrorEnvelope | None:
    """Submit an asynchronous transcription or translation job.

     The form of `/v1/audio/transcriptions` plus `task` and `webhook_url`.
    Everything cheap to check (form, model, language, the audio's container,
    codec and declared length) is checked now, so a bad request is refused
    at once; the job then waits for a worker. Poll `GET
    /v1/audio/jobs/{id}` or receive a signed webhook when it ends.

    Args:
        body (AudioJobForm): The multipart form of `POST /v1/audio/jobs`: the fields of
            [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
            `webhook_url`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AudioJob | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AudioJobForm,
) -> Response[AudioJob | ErrorEnvelope]:
    """Submit an asynchronous transcription or translation job.

     The form of `/v1/audio/transcriptions` plus `task` and `webhook_url`.
    Everything cheap to check (form, model, language, the audio's container,
    codec and declared length) is checked now, so a bad request is refused
    at once; the job then waits for a worker. Poll `GET
    /v1/audio/jobs/{id}` or receive a signed webhook when it ends.

    Args:
        body (AudioJobForm): The multipart form of `POST /v1/audio/jobs`: the fields of
            [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
            `webhook_url`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AudioJob | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: AudioJobForm,
) -> AudioJob | ErrorEnvelope | None:
    """Submit an asynchronous transcription or translation job.

     The form of `/v1/audio/transcriptions` plus `task` and `webhook_url`.
    Everything cheap to check (form, model, language, the audio's container,
    codec and declared length) is checked now, so a bad request is refused
    at once; the job then waits for a worker. Poll `GET
    /v1/audio/jobs/{id}` or receive a signed webhook when it ends.

    Args:
        body (AudioJobForm): The multipart form of `POST /v1/audio/jobs`: the fields of
            [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
            `webhook_url`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AudioJob | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

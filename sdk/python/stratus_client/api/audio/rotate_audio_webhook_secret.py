from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audio_webhook_secret import AudioWebhookSecret
from ...models.error_envelope import ErrorEnvelope
from ...models.rotate_audio_webhook_secret import RotateAudioWebhookSecret
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: None | RotateAudioWebhookSecret | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/audio/webhook-secret/rotate",
    }

    if isinstance(body, RotateAudioWebhookSecret):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AudioWebhookSecret | ErrorEnvelope | None:
    if response.status_code == 200:
        response_200 = AudioWebhookSecret.from_dict(response.json())

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
) -> Response[AudioWebhookSecret | ErrorEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: None | RotateAudioWebhookSecret | Unset = UNSET,
) -> Response[AudioWebhookSecret | ErrorEnvelope]:
    """Rotate the tenant's webhook signing secret.

     Answers the new secret. The replaced one keeps signing deliveries (a
    second `v1=`) until `previous_secret_expires_at`, so receivers can be
    moved to the new one without missing a delivery.

    Args:
        body (None | RotateAudioWebhookSecret | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AudioWebhookSecret | ErrorEnvelope]
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
    body: None | RotateAudioWebhookSecret | Unset = UNSET,
) -> AudioWebhookSecret | ErrorEnvelope | None:
    """Rotate the tenant's webhook signing secret.

     Answers the new secret. The replaced one keeps signing deliveries (a
    second `v1=`) until `previous_secret_expires_at`, so receivers can be
    moved to the new one without missing a delivery.

    Args:
        body (None | RotateAudioWebhookSecret | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AudioWebhookSecret | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: None | RotateAudioWebhookSecret | Unset = UNSET,
) -> Response[AudioWebhookSecret | ErrorEnvelope]:
    """Rotate the tenant's webhook signing secret.

     Answers the new secret. The replaced one keeps signing deliveries (a
    second `v1=`) until `previous_secret_expires_at`, so receivers can be
    moved to the new one without missing a delivery.

    Args:
        body (None | RotateAudioWebhookSecret | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AudioWebhookSecret | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: None | RotateAudioWebhookSecret | Unset = UNSET,
) -> AudioWebhookSecret | ErrorEnvelope | None:
    """Rotate the tenant's webhook signing secret.

     Answers the new secret. The replaced one keeps signing deliveries (a
    second `v1=`) until `previous_secret_expires_at`, so receivers can be
    moved to the new one without missing a delivery.

    Args:
        body (None | RotateAudioWebhookSecret | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AudioWebhookSecret | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

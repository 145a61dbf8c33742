from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RotateAudioWebhookSecret")


@_attrs_define
class RotateAudioWebhookSecret:
    """`POST /v1/audio/webhook-secret/rotate`'s body (optional).

    Attributes:
        previous_secret_valid_seconds (int | None | Unset): Seconds the replaced secret keeps signing: 0 to 604800 (a
            week);
            default 86400. Example: 86400.
    """

    previous_secret_valid_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        previous_secret_valid_seconds: int | None | Unset
        if isinstance(self.previous_secret_valid_seconds, Unset):
            previous_secret_valid_seconds = UNSET
        else:
            previous_secret_valid_seconds = self.previous_secret_valid_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if previous_secret_valid_seconds is not UNSET:
            field_dict["previous_secret_valid_seconds"] = previous_secret_valid_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_previous_secret_valid_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        previous_secret_valid_seconds = _parse_previous_secret_valid_seconds(
            d.pop("previous_secret_valid_seconds", UNSET)
        )

        rotate_audio_webhook_secret = cls(
            previous_secret_valid_seconds=previous_secret_valid_seconds,
        )

        return rotate_audio_webhook_secret

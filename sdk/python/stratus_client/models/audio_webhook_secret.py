from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AudioWebhookSecret")


@_attrs_define
class AudioWebhookSecret:
    """A tenant's webhook signing secret (`object: "audio.webhook_secret"`).
    Times are unix seconds.

        Example:
            {'created_at': 1764300000, 'object': 'audio.webhook_secret', 'previous_secret_expires_at': 1764386400, 'secret':
                'whsec_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'}

        Attributes:
            object_ (str): Always `audio.webhook_secret`.
            secret (str): HMAC-SHA256 key of the `v1` signatures in `x-stratus-signature`
                (the whole string, prefix included).
            created_at (int | None | Unset): When this secret was made by a rotation; `null` for a tenant's first
                secret.
            previous_secret_expires_at (int | None | Unset): Until when the replaced secret also signs deliveries; `null`
                when
                none does.
    """

    object_: str
    secret: str
    created_at: int | None | Unset = UNSET
    previous_secret_expires_at: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        object_ = self.object_

        secret = self.secret

        created_at: int | None | Unset
        if isinstance(self.created_at, Unset):
            created_at = UNSET
        else:
            created_at = self.created_at

        previous_secret_expires_at: int | None | Unset
        if isinstance(self.previous_secret_expires_at, Unset):
            previous_secret_expires_at = UNSET
        else:
            previous_secret_expires_at = self.previous_secret_expires_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "secret": secret,
            }
        )
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if previous_secret_expires_at is not UNSET:
            field_dict["previous_secret_expires_at"] = previous_secret_expires_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        object_ = d.pop("object")

        secret = d.pop("secret")

        def _parse_created_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        created_at = _parse_created_at(d.pop("created_at", UNSET))

        def _parse_previous_secret_expires_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        previous_secret_expires_at = _parse_previous_secret_expires_at(d.pop("previous_secret_expires_at", UNSET))

        audio_webhook_secret = cls(
            object_=object_,
            secret=secret,
            created_at=created_at,
            previous_secret_expires_at=previous_secret_expires_at,
        )

        audio_webhook_secret.additional_properties = d
        return audio_webhook_secret

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="LimitsView")


@_attrs_define
class LimitsView:
    """A subject's limits as the API and the CLI show them.

    Attributes:
        object_ (str): Always `limits`.
        tenant_id (str):
        key_id (None | str | Unset): Set for a key's limits.
        requests_per_minute (int | None | Unset): Requests a minute (a burst of this many, then evenly spread).
        tokens_per_minute (int | None | Unset): Input tokens a minute on language routes, as the service reports them.
        audio_seconds_per_minute (int | None | Unset): Seconds of audio a minute on speech routes, as the service
            reports them.
        concurrent_requests (int | None | Unset): Requests in progress at once (a streamed response counts until it
            ends).
        updated_at (int | None | Unset): When they were last set, Unix seconds (null: never set).
    """

    object_: str
    tenant_id: str
    key_id: None | str | Unset = UNSET
    requests_per_minute: int | None | Unset = UNSET
    tokens_per_minute: int | None | Unset = UNSET
    audio_seconds_per_minute: int | None | Unset = UNSET
    concurrent_requests: int | None | Unset = UNSET
    updated_at: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        object_ = self.object_

        tenant_id = self.tenant_id

        key_id: None | str | Unset
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        requests_per_minute: int | None | Unset
        if isinstance(self.requests_per_minute, Unset):
            requests_per_minute = UNSET
        else:
            requests_per_minute = self.requests_per_minute

        tokens_per_minute: int | None | Unset
        if isinstance(self.tokens_per_minute, Unset):
            tokens_per_minute = UNSET
        else:
            tokens_per_minute = self.tokens_per_minute

        audio_seconds_per_minute: int | None | Unset
        if isinstance(self.audio_seconds_per_minute, Unset):
            audio_seconds_per_minute = UNSET
        else:
            audio_seconds_per_minute = self.audio_seconds_per_minute

        concurrent_requests: int | None | Unset
        if isinstance(self.concurrent_requests, Unset):
            concurrent_requests = UNSET
        else:
            concurrent_requests = self.concurrent_requests

        updated_at: int | None | Unset
        if isinstance(self.updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "tenant_id": tenant_id,
            }
        )
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if requests_per_minute is not UNSET:
            field_dict["requests_per_minute"] = requests_per_minute
        if tokens_per_minute is not UNSET:
            field_dict["tokens_per_minute"] = tokens_per_minute
        if audio_seconds_per_minute is not UNSET:
            field_dict["audio_seconds_per_minute"] = audio_seconds_per_minute
        if concurrent_requests is not UNSET:
            field_dict["concurrent_requests"] = concurrent_requests
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        object_ = d.pop("object")

        tenant_id = d.pop("tenant_id")

        def _parse_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))

        def _parse_requests_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        requests_per_minute = _parse_requests_per_minute(d.pop("requests_per_minute", UNSET))

        def _parse_tokens_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tokens_per_minute = _parse_tokens_per_minute(d.pop("tokens_per_minute", UNSET))

        def _parse_audio_seconds_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        audio_seconds_per_minute = _parse_audio_seconds_per_minute(d.pop("audio_seconds_per_minute", UNSET))

        def _parse_concurrent_requests(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrent_requests = _parse_concurrent_requests(d.pop("concurrent_requests", UNSET))

        def _parse_updated_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        updated_at = _parse_updated_at(d.pop("updated_at", UNSET))

        limits_view = cls(
            object_=object_,
            tenant_id=tenant_id,
            key_id=key_id,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            audio_seconds_per_minute=audio_seconds_per_minute,
            concurrent_requests=concurrent_requests,
            updated_at=updated_at,
        )

        limits_view.additional_properties = d
        return limits_view

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="UsageBucket")


@_attrs_define
class UsageBucket:
    """One bucket's sums (of one group when grouped).

    Attributes:
        requests (int):
        audio_seconds (float):
        input_tokens (int):
        characters (int):
        documents (int):
        start (str):
        end (str):
        group (None | str | Unset): The group's value (a model, endpoint, key id or service) when
            `group_by` is set.
    """

    requests: int
    audio_seconds: float
    input_tokens: int
    characters: int
    documents: int
    start: str
    end: str
    group: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requests = self.requests

        audio_seconds = self.audio_seconds

        input_tokens = self.input_tokens

        characters = self.characters

        documents = self.documents

        start = self.start

        end = self.end

        group: None | str | Unset
        if isinstance(self.group, Unset):
            group = UNSET
        else:
            group = self.group

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requests": requests,
                "audio_seconds": audio_seconds,
                "input_tokens": input_tokens,
                "characters": characters,
                "documents": documents,
                "start": start,
                "end": end,
            }
        )
        if group is not UNSET:
            field_dict["group"] = group

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requests = d.pop("requests")

        audio_seconds = d.pop("audio_seconds")

        input_tokens = d.pop("input_tokens")

        characters = d.pop("characters")

        documents = d.pop("documents")

        start = d.pop("start")

        end = d.pop("end")

        def _parse_group(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        group = _parse_group(d.pop("group", UNSET))

        usage_bucket = cls(
            requests=requests,
            audio_seconds=audio_seconds,
            input_tokens=input_tokens,
            characters=characters,
            documents=documents,
            start=start,
            end=end,
            group=group,
        )

        usage_bucket.additional_properties = d
        return usage_bucket

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

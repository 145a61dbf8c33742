from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="UsageUnits")


@_attrs_define
class UsageUnits:
    """Units as the API shows them.

    Attributes:
        requests (int):
        audio_seconds (float):
        input_tokens (int):
        characters (int):
        documents (int):
    """

    requests: int
    audio_seconds: float
    input_tokens: int
    characters: int
    documents: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requests = self.requests

        audio_seconds = self.audio_seconds

        input_tokens = self.input_tokens

        characters = self.characters

        documents = self.documents

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requests": requests,
                "audio_seconds": audio_seconds,
                "input_tokens": input_tokens,
                "characters": characters,
                "documents": documents,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requests = d.pop("requests")

        audio_seconds = d.pop("audio_seconds")

        input_tokens = d.pop("input_tokens")

        characters = d.pop("characters")

        documents = d.pop("documents")

        usage_units = cls(
            requests=requests,
            audio_seconds=audio_seconds,
            input_tokens=input_tokens,
            characters=characters,
            documents=documents,
        )

        usage_units.additional_properties = d
        return usage_units

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

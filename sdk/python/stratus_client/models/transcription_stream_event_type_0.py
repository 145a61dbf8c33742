from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transcription_stream_event_type_0_type import (
    TranscriptionStreamEventType0Type,
    check_transcription_stream_event_type_0_type,
)

T = TypeVar("T", bound="TranscriptionStreamEventType0")


@_attrs_define
class TranscriptionStreamEventType0:
    """The next piece of text.

    Attributes:
        delta (str):
        type_ (TranscriptionStreamEventType0Type):
    """

    delta: str
    type_: TranscriptionStreamEventType0Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        delta = self.delta

        type_: str = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "delta": delta,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        delta = d.pop("delta")

        type_ = check_transcription_stream_event_type_0_type(d.pop("type"))

        transcription_stream_event_type_0 = cls(
            delta=delta,
            type_=type_,
        )

        transcription_stream_event_type_0.additional_properties = d
        return transcription_stream_event_type_0

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

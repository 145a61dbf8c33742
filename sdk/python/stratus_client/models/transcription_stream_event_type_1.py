from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transcription_stream_event_type_1_type import (
    TranscriptionStreamEventType1Type,
    check_transcription_stream_event_type_1_type,
)

if TYPE_CHECKING:
    from ..models.audio_usage import AudioUsage


T = TypeVar("T", bound="TranscriptionStreamEventType1")


@_attrs_define
class TranscriptionStreamEventType1:
    """The whole text; the last event.

    Attributes:
        text (str):
        usage (AudioUsage): OpenAI's `usage` object for audio: billed by duration.
        type_ (TranscriptionStreamEventType1Type):
    """

    text: str
    usage: AudioUsage
    type_: TranscriptionStreamEventType1Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        text = self.text

        usage = self.usage.to_dict()

        type_: str = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "text": text,
                "usage": usage,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415

        d = dict(src_dict)
        text = d.pop("text")

        usage = AudioUsage.from_dict(d.pop("usage"))

        type_ = check_transcription_stream_event_type_1_type(d.pop("type"))

        transcription_stream_event_type_1 = cls(
            text=text,
            usage=usage,
            type_=type_,
        )

        transcription_stream_event_type_1.additional_properties = d
        return transcription_stream_event_type_1

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.audio_usage import AudioUsage


T = TypeVar("T", bound="Transcription")


@_attrs_define
class Transcription:
    """`response_format=json`: the text and the audio's duration.

    Example:
        {'text': 'He was not an ill disposed young man.', 'usage': {'seconds': 4.2, 'type': 'duration'}}

    Attributes:
        text (str):
        usage (AudioUsage): OpenAI's `usage` object for audio: billed by duration.
    """

    text: str
    usage: AudioUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        text = self.text

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "text": text,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415

        d = dict(src_dict)
        text = d.pop("text")

        usage = AudioUsage.from_dict(d.pop("usage"))

        transcription = cls(
            text=text,
            usage=usage,
        )

        transcription.additional_properties = d
        return transcription

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

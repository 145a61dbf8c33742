from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transcription_stream_event_type_2_type import (
    TranscriptionStreamEventType2Type,
    check_transcription_stream_event_type_2_type,
)

if TYPE_CHECKING:
    from ..models.error_body import ErrorBody


T = TypeVar("T", bound="TranscriptionStreamEventType2")


@_attrs_define
class TranscriptionStreamEventType2:
    """Decoding failed; the last event.

    Attributes:
        error (ErrorBody): OpenAI's error object.
        type_ (TranscriptionStreamEventType2Type):
    """

    error: ErrorBody
    type_: TranscriptionStreamEventType2Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error.to_dict()

        type_: str = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_body import ErrorBody  # noqa: PLC0415

        d = dict(src_dict)
        error = ErrorBody.from_dict(d.pop("error"))

        type_ = check_transcription_stream_event_type_2_type(d.pop("type"))

        transcription_stream_event_type_2 = cls(
            error=error,
            type_=type_,
        )

        transcription_stream_event_type_2.additional_properties = d
        return transcription_stream_event_type_2

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.audio_usage import AudioUsage
    from ..models.transcription_segment import TranscriptionSegment


T = TypeVar("T", bound="TranscriptionVerbose")


@_attrs_define
class TranscriptionVerbose:
    """`response_format=verbose_json`: the text with its segments, the
    language (in words, as OpenAI writes it) and the duration.

        Attributes:
            task (str): `transcribe` or `translate`. Example: transcribe.
            language (str): The spoken language in English words, e.g. `english`. Example: english.
            duration (float):
            text (str):
            segments (list[TranscriptionSegment]):
            usage (AudioUsage): OpenAI's `usage` object for audio: billed by duration.
    """

    task: str
    language: str
    duration: float
    text: str
    segments: list[TranscriptionSegment]
    usage: AudioUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task = self.task

        language = self.language

        duration = self.duration

        text = self.text

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task": task,
                "language": language,
                "duration": duration,
                "text": text,
                "segments": segments,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415
        from ..models.transcription_segment import TranscriptionSegment  # noqa: PLC0415

        d = dict(src_dict)
        task = d.pop("task")

        language = d.pop("language")

        duration = d.pop("duration")

        text = d.pop("text")

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = TranscriptionSegment.from_dict(segments_item_data)

            segments.append(segments_item)

        usage = AudioUsage.from_dict(d.pop("usage"))

        transcription_verbose = cls(
            task=task,
            language=language,
            duration=duration,
            text=text,
            segments=segments,
            usage=usage,
        )

        transcription_verbose.additional_properties = d
        return transcription_verbose

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

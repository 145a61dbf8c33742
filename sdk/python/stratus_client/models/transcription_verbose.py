from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audio_usage import AudioUsage
    from ..models.transcription_segment import TranscriptionSegment
    from ..models.transcription_word import TranscriptionWord


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
            words (list[TranscriptionWord] | None | Unset): Present when word timestamps were asked for.
    """

    task: str
    language: str
    duration: float
    text: str
    segments: list[TranscriptionSegment]
    usage: AudioUsage
    words: list[TranscriptionWord] | None | Unset = UNSET
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

        words: list[dict[str, Any]] | None | Unset
        if isinstance(self.words, Unset):
            words = UNSET
        elif isinstance(self.words, list):
            words = []
            for words_type_0_item_data in self.words:
                words_type_0_item = words_type_0_item_data.to_dict()
                words.append(words_type_0_item)

        else:
            words = self.words

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
        if words is not UNSET:
            field_dict["words"] = words

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415
        from ..models.transcription_segment import TranscriptionSegment  # noqa: PLC0415
        from ..models.transcription_word import TranscriptionWord  # noqa: PLC0415

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

        def _parse_words(data: object) -> list[TranscriptionWord] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                words_type_0 = []
                _words_type_0 = data
                for words_type_0_item_data in _words_type_0:
                    words_type_0_item = TranscriptionWord.from_dict(words_type_0_item_data)

                    words_type_0.append(words_type_0_item)

                return words_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[TranscriptionWord] | None | Unset, data)

        words = _parse_words(d.pop("words", UNSET))

        transcription_verbose = cls(
            task=task,
            language=language,
            duration=duration,
            text=text,
            segments=segments,
            usage=usage,
            words=words,
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

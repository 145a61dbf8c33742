from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..models.audio_job_task import AudioJobTask, check_audio_job_task
from ..models.response_format_name import ResponseFormatName, check_response_format_name
from ..models.timestamp_granularity import TimestampGranularity, check_timestamp_granularity
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="AudioJobForm")


@_attrs_define
class AudioJobForm:
    """The multipart form of `POST /v1/audio/jobs`: the fields of
    [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
    `webhook_url`.

        Attributes:
            file (File): The audio file, as for `/v1/audio/transcriptions` (same limits).
            model (str): A loaded speech model (`GET /v1/models`), or `whisper-1` for the
                default one. Example: whisper-1.
            task (AudioJobTask | None | Unset):
            language (None | str | Unset): ISO-639-1 code of the spoken language; detected when omitted. Example: en.
            prompt (None | str | Unset): Text that precedes the audio, to steer spelling and style.
            response_format (None | ResponseFormatName | Unset):
            temperature (float | None | Unset): Sampling temperature, 0 to 1. Example: 0.0.
            timestamp_granularities (None | TimestampGranularity | Unset):
            webhook_url (None | str | Unset): An `https` URL to POST the finished job to, signed with the
                tenant's webhook secret (`GET /v1/audio/webhook-secret`; refused
                when the server has no webhook key).
                Only public destinations: a host that is or resolves to a loopback,
                private, link-local or metadata address is refused (400 at submit,
                or a `failed` delivery when only its resolution shows it), unless the
                operator allowed it; `http` only where the operator allowed it. Example: https://example.com/hooks/stratus.
    """

    file: File
    model: str
    task: AudioJobTask | None | Unset = UNSET
    language: None | str | Unset = UNSET
    prompt: None | str | Unset = UNSET
    response_format: None | ResponseFormatName | Unset = UNSET
    temperature: float | None | Unset = UNSET
    timestamp_granularities: None | TimestampGranularity | Unset = UNSET
    webhook_url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_tuple()

        model = self.model

        task: None | str | Unset
        if isinstance(self.task, Unset):
            task = UNSET
        elif isinstance(self.task, str):
            task = self.task
        else:
            task = self.task

        language: None | str | Unset
        if isinstance(self.language, Unset):
            language = UNSET
        else:
            language = self.language

        prompt: None | str | Unset
        if isinstance(self.prompt, Unset):
            prompt = UNSET
        else:
            prompt = self.prompt

        response_format: None | str | Unset
        if isinstance(self.response_format, Unset):
            response_format = UNSET
        elif isinstance(self.response_format, str):
            response_format = self.response_format
        else:
            response_format = self.response_format

        temperature: float | None | Unset
        if isinstance(self.temperature, Unset):
            temperature = UNSET
        else:
            temperature = self.temperature

        timestamp_granularities: None | str | Unset
        if isinstance(self.timestamp_granularities, Unset):
            timestamp_granularities = UNSET
        elif isinstance(self.timestamp_granularities, str):
            timestamp_granularities = self.timestamp_granularities
        else:
            timestamp_granularities = self.timestamp_granularities

        webhook_url: None | str | Unset
        if isinstance(self.webhook_url, Unset):
            webhook_url = UNSET
        else:
            webhook_url = self.webhook_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
                "model": model,
            }
        )
        if task is not UNSET:
            field_dict["task"] = task
        if language is not UNSET:
            field_dict["language"] = language
        if prompt is not UNSET:
            field_dict["prompt"] = prompt
        if response_format is not UNSET:
            field_dict["response_format"] = response_format
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if timestamp_granularities is not UNSET:
            field_dict["timestamp_granularities[]"] = timestamp_granularities
        if webhook_url is not UNSET:
            field_dict["webhook_url"] = webhook_url

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("file", self.file.to_tuple()))

        files.append(("model", (None, str(self.model).encode(), "text/plain")))

        if not isinstance(self.task, Unset):
            if isinstance(self.task, str):
                files.append(("task", (None, str(self.task).encode(), "text/plain")))
            else:
                files.append(("task", (None, str(self.task).encode(), "text/plain")))

        if not isinstance(self.language, Unset):
            if isinstance(self.language, str):
                files.append(("language", (None, str(self.language).encode(), "text/plain")))
            else:
                files.append(("language", (None, str(self.language).encode(), "text/plain")))

        if not isinstance(self.prompt, Unset):
            if isinstance(self.prompt, str):
                files.append(("prompt", (None, str(self.prompt).encode(), "text/plain")))
            else:
                files.append(("prompt", (None, str(self.prompt).encode(), "text/plain")))

        if not isinstance(self.response_format, Unset):
            if isinstance(self.response_format, str):
                files.append(("response_format", (None, str(self.response_format).encode(), "text/plain")))
            else:
                files.append(("response_format", (None, str(self.response_format).encode(), "text/plain")))

        if not isinstance(self.temperature, Unset):
            if isinstance(self.temperature, float):
                files.append(("temperature", (None, str(self.temperature).encode(), "text/plain")))
            else:
                files.append(("temperature", (None, str(self.temperature).encode(), "text/plain")))

        if not isinstance(self.timestamp_granularities, Unset):
            if isinstance(self.timestamp_granularities, str):
                files.append(
                    ("timestamp_granularities[]", (None, str(self.timestamp_granularities).encode(), "text/plain"))
                )
            else:
                files.append(
                    ("timestamp_granularities[]", (None, str(self.timestamp_granularities).encode(), "text/plain"))
                )

        if not isinstance(self.webhook_url, Unset):
            if isinstance(self.webhook_url, str):
                files.append(("webhook_url", (None, str(self.webhook_url).encode(), "text/plain")))
            else:
                files.append(("webhook_url", (None, str(self.webhook_url).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        file = File(payload=BytesIO(d.pop("file")))

        model = d.pop("model")

        def _parse_task(data: object) -> AudioJobTask | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                task_type_0 = check_audio_job_task(data)

                return task_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AudioJobTask | None | Unset, data)

        task = _parse_task(d.pop("task", UNSET))

        def _parse_language(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        language = _parse_language(d.pop("language", UNSET))

        def _parse_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prompt = _parse_prompt(d.pop("prompt", UNSET))

        def _parse_response_format(data: object) -> None | ResponseFormatName | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                response_format_type_0 = check_response_format_name(data)

                return response_format_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResponseFormatName | Unset, data)

        response_format = _parse_response_format(d.pop("response_format", UNSET))

        def _parse_temperature(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        temperature = _parse_temperature(d.pop("temperature", UNSET))

        def _parse_timestamp_granularities(data: object) -> None | TimestampGranularity | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_granularities_type_0 = check_timestamp_granularity(data)

                return timestamp_granularities_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TimestampGranularity | Unset, data)

        timestamp_granularities = _parse_timestamp_granularities(d.pop("timestamp_granularities[]", UNSET))

        def _parse_webhook_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        webhook_url = _parse_webhook_url(d.pop("webhook_url", UNSET))

        audio_job_form = cls(
            file=file,
            model=model,
            task=task,
            language=language,
            prompt=prompt,
            response_format=response_format,
            temperature=temperature,
            timestamp_granularities=timestamp_granularities,
            webhook_url=webhook_url,
        )

        audio_job_form.additional_properties = d
        return audio_job_form

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

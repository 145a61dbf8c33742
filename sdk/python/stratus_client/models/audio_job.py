from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.audio_job_status import AudioJobStatus, check_audio_job_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audio_job_error import AudioJobError
    from ..models.audio_usage import AudioUsage


T = TypeVar("T", bound="AudioJob")


@_attrs_define
class AudioJob:
    """A job as the API shows it (`object: "audio.job"`). Times are unix
    seconds.

        Example:
            {'attempts': 1, 'created_at': 1764300000, 'finished_at': 1764300003, 'id':
                'job_0192f7c1a2b34c5d8e9f0a1b2c3d4e5f', 'model': 'whisper-tiny.en', 'object': 'audio.job', 'progress': 1.0,
                'response_format': 'json', 'result': {'text': 'He was not an ill disposed young man.', 'usage': {'seconds': 4.2,
                'type': 'duration'}}, 'started_at': 1764300001, 'status': 'succeeded', 'task': 'transcribe', 'usage':
                {'seconds': 4.2, 'type': 'duration'}}

        Attributes:
            id (str):
            object_ (str): Always `audio.job`.
            status (AudioJobStatus): Where a job is in its life.
            task (str): `transcribe` or `translate`.
            model (str):
            response_format (str):
            progress (float): Share of the audio transcribed, 0 to 1.
            attempts (int): Times a worker started the job (more than 1 after a worker died).
            created_at (int):
            started_at (int | None | Unset):
            finished_at (int | None | Unset):
            result (Any | Unset): Once succeeded (single-job answers only): an object for `json` and
                `verbose_json`, a string for `text`, `srt` and `vtt`.
            error (AudioJobError | None | Unset):
            usage (AudioUsage | None | Unset):
            webhook_url (None | str | Unset):
            webhook_status (None | str | Unset): The webhook's delivery: `pending`, then `delivered`, or `failed`
                once every retry failed (never why).
    """

    id: str
    object_: str
    status: AudioJobStatus
    task: str
    model: str
    response_format: str
    progress: float
    attempts: int
    created_at: int
    started_at: int | None | Unset = UNSET
    finished_at: int | None | Unset = UNSET
    result: Any | Unset = UNSET
    error: AudioJobError | None | Unset = UNSET
    usage: AudioUsage | None | Unset = UNSET
    webhook_url: None | str | Unset = UNSET
    webhook_status: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.audio_job_error import AudioJobError  # noqa: PLC0415
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415

        id = self.id

        object_ = self.object_

        status: str = self.status

        task = self.task

        model = self.model

        response_format = self.response_format

        progress = self.progress

        attempts = self.attempts

        created_at = self.created_at

        started_at: int | None | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        else:
            started_at = self.started_at

        finished_at: int | None | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        else:
            finished_at = self.finished_at

        result = self.result

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, AudioJobError):
            error = self.error.to_dict()
        else:
            error = self.error

        usage: dict[str, Any] | None | Unset
        if isinstance(self.usage, Unset):
            usage = UNSET
        elif isinstance(self.usage, AudioUsage):
            usage = self.usage.to_dict()
        else:
            usage = self.usage

        webhook_url: None | str | Unset
        if isinstance(self.webhook_url, Unset):
            webhook_url = UNSET
        else:
            webhook_url = self.webhook_url

        webhook_status: None | str | Unset
        if isinstance(self.webhook_status, Unset):
            webhook_status = UNSET
        else:
            webhook_status = self.webhook_status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "object": object_,
                "status": status,
                "task": task,
                "model": model,
                "response_format": response_format,
                "progress": progress,
                "attempts": attempts,
                "created_at": created_at,
            }
        )
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if result is not UNSET:
            field_dict["result"] = result
        if error is not UNSET:
            field_dict["error"] = error
        if usage is not UNSET:
            field_dict["usage"] = usage
        if webhook_url is not UNSET:
            field_dict["webhook_url"] = webhook_url
        if webhook_status is not UNSET:
            field_dict["webhook_status"] = webhook_status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audio_job_error import AudioJobError  # noqa: PLC0415
        from ..models.audio_usage import AudioUsage  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        object_ = d.pop("object")

        status = check_audio_job_status(d.pop("status"))

        task = d.pop("task")

        model = d.pop("model")

        response_format = d.pop("response_format")

        progress = d.pop("progress")

        attempts = d.pop("attempts")

        created_at = d.pop("created_at")

        def _parse_started_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_finished_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        result = d.pop("result", UNSET)

        def _parse_error(data: object) -> AudioJobError | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = AudioJobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AudioJobError | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_usage(data: object) -> AudioUsage | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                usage_type_0 = AudioUsage.from_dict(data)

                return usage_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AudioUsage | None | Unset, data)

        usage = _parse_usage(d.pop("usage", UNSET))

        def _parse_webhook_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        webhook_url = _parse_webhook_url(d.pop("webhook_url", UNSET))

        def _parse_webhook_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        webhook_status = _parse_webhook_status(d.pop("webhook_status", UNSET))

        audio_job = cls(
            id=id,
            object_=object_,
            status=status,
            task=task,
            model=model,
            response_format=response_format,
            progress=progress,
            attempts=attempts,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            result=result,
            error=error,
            usage=usage,
            webhook_url=webhook_url,
            webhook_status=webhook_status,
        )

        audio_job.additional_properties = d
        return audio_job

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LimitSpec")


@_attrs_define
class LimitSpec:
    """One subject's limits; `None` is no limit at this level.

    Attributes:
        requests_per_minute (int | None | Unset): Requests a minute (a burst of this many, then evenly spread).
        tokens_per_minute (int | None | Unset): Input tokens a minute on language routes, as the service reports them.
        audio_seconds_per_minute (int | None | Unset): Seconds of audio a minute on speech routes, as the service
            reports them.
        concurrent_requests (int | None | Unset): Requests in progress at once (a streamed response counts until it
            ends).
    """

    requests_per_minute: int | None | Unset = UNSET
    tokens_per_minute: int | None | Unset = UNSET
    audio_seconds_per_minute: int | None | Unset = UNSET
    concurrent_requests: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        requests_per_minute: int | None | Unset
        if isinstance(self.requests_per_minute, Unset):
            requests_per_minute = UNSET
        else:
            requests_per_minute = self.requests_per_minute

        tokens_per_minute: int | None | Unset
        if isinstance(self.tokens_per_minute, Unset):
            tokens_per_minute = UNSET
        else:
            tokens_per_minute = self.tokens_per_minute

        audio_seconds_per_minute: int | None | Unset
        if isinstance(self.audio_seconds_per_minute, Unset):
            audio_seconds_per_minute = UNSET
        else:
            audio_seconds_per_minute = self.audio_seconds_per_minute

        concurrent_requests: int | None | Unset
        if isinstance(self.concurrent_requests, Unset):
            concurrent_requests = UNSET
        else:
            concurrent_requests = self.concurrent_requests

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if requests_per_minute is not UNSET:
            field_dict["requests_per_minute"] = requests_per_minute
        if tokens_per_minute is not UNSET:
            field_dict["tokens_per_minute"] = tokens_per_minute
        if audio_seconds_per_minute is not UNSET:
            field_dict["audio_seconds_per_minute"] = audio_seconds_per_minute
        if concurrent_requests is not UNSET:
            field_dict["concurrent_requests"] = concurrent_requests

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_requests_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        requests_per_minute = _parse_requests_per_minute(d.pop("requests_per_minute", UNSET))

        def _parse_tokens_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tokens_per_minute = _parse_tokens_per_minute(d.pop("tokens_per_minute", UNSET))

        def _parse_audio_seconds_per_minute(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        audio_seconds_per_minute = _parse_audio_seconds_per_minute(d.pop("audio_seconds_per_minute", UNSET))

        def _parse_concurrent_requests(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrent_requests = _parse_concurrent_requests(d.pop("concurrent_requests", UNSET))

        limit_spec = cls(
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            audio_seconds_per_minute=audio_seconds_per_minute,
            concurrent_requests=concurrent_requests,
        )

        return limit_spec

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.usage_units import UsageUnits


T = TypeVar("T", bound="UsageEvent")


@_attrs_define
class UsageEvent:
    """The public JSON shape of an event (`GET /v1/usage/events`, the
    CloudEvents `data`): audio in seconds, time in RFC 3339.

        Attributes:
            id (str):  Example: 0192f7c1-a2b3-7c4d-8e9f-0a1b2c3d4e5f.
            tenant_id (str):
            service (str):
            endpoint (str):
            status (int):
            latency_ms (int):
            time (str):
            units (UsageUnits): Units as the API shows them.
            request_id (None | str | Unset): The gateway's id of the request (its `x-request-id` response
                header): unique.
            client_request_id (None | str | Unset): The `x-request-id` the caller sent, if any.
            key_id (None | str | Unset):
            user_id (None | str | Unset):
            model (None | str | Unset):
    """

    id: str
    tenant_id: str
    service: str
    endpoint: str
    status: int
    latency_ms: int
    time: str
    units: UsageUnits
    request_id: None | str | Unset = UNSET
    client_request_id: None | str | Unset = UNSET
    key_id: None | str | Unset = UNSET
    user_id: None | str | Unset = UNSET
    model: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        tenant_id = self.tenant_id

        service = self.service

        endpoint = self.endpoint

        status = self.status

        latency_ms = self.latency_ms

        time = self.time

        units = self.units.to_dict()

        request_id: None | str | Unset
        if isinstance(self.request_id, Unset):
            request_id = UNSET
        else:
            request_id = self.request_id

        client_request_id: None | str | Unset
        if isinstance(self.client_request_id, Unset):
            client_request_id = UNSET
        else:
            client_request_id = self.client_request_id

        key_id: None | str | Unset
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "tenant_id": tenant_id,
                "service": service,
                "endpoint": endpoint,
                "status": status,
                "latency_ms": latency_ms,
                "time": time,
                "units": units,
            }
        )
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if client_request_id is not UNSET:
            field_dict["client_request_id"] = client_request_id
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if model is not UNSET:
            field_dict["model"] = model

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.usage_units import UsageUnits  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        tenant_id = d.pop("tenant_id")

        service = d.pop("service")

        endpoint = d.pop("endpoint")

        status = d.pop("status")

        latency_ms = d.pop("latency_ms")

        time = d.pop("time")

        units = UsageUnits.from_dict(d.pop("units"))

        def _parse_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_id = _parse_request_id(d.pop("request_id", UNSET))

        def _parse_client_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_request_id = _parse_client_request_id(d.pop("client_request_id", UNSET))

        def _parse_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))

        def _parse_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))

        usage_event = cls(
            id=id,
            tenant_id=tenant_id,
            service=service,
            endpoint=endpoint,
            status=status,
            latency_ms=latency_ms,
            time=time,
            units=units,
            request_id=request_id,
            client_request_id=client_request_id,
            key_id=key_id,
            user_id=user_id,
            model=model,
        )

        usage_event.additional_properties = d
        return usage_event

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

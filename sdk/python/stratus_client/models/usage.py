from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.usage_bucket import UsageBucket
    from ..models.usage_units import UsageUnits


T = TypeVar("T", bound="Usage")


@_attrs_define
class Usage:
    """The tenant's usage over a range: totals and per-bucket sums.

    Attributes:
        object_ (str): Always `usage`.
        tenant_id (str):
        start (str):
        end (str):
        bucket (str): `day` or `hour`.
        totals (UsageUnits): Units as the API shows them.
        data (list[UsageBucket]): The buckets that had usage, oldest first (per group when grouped).
        group_by (None | str | Unset):
    """

    object_: str
    tenant_id: str
    start: str
    end: str
    bucket: str
    totals: UsageUnits
    data: list[UsageBucket]
    group_by: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        object_ = self.object_

        tenant_id = self.tenant_id

        start = self.start

        end = self.end

        bucket = self.bucket

        totals = self.totals.to_dict()

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        group_by: None | str | Unset
        if isinstance(self.group_by, Unset):
            group_by = UNSET
        else:
            group_by = self.group_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "tenant_id": tenant_id,
                "start": start,
                "end": end,
                "bucket": bucket,
                "totals": totals,
                "data": data,
            }
        )
        if group_by is not UNSET:
            field_dict["group_by"] = group_by

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.usage_bucket import UsageBucket  # noqa: PLC0415
        from ..models.usage_units import UsageUnits  # noqa: PLC0415

        d = dict(src_dict)
        object_ = d.pop("object")

        tenant_id = d.pop("tenant_id")

        start = d.pop("start")

        end = d.pop("end")

        bucket = d.pop("bucket")

        totals = UsageUnits.from_dict(d.pop("totals"))

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = UsageBucket.from_dict(data_item_data)

            data.append(data_item)

        def _parse_group_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        group_by = _parse_group_by(d.pop("group_by", UNSET))

        usage = cls(
            object_=object_,
            tenant_id=tenant_id,
            start=start,
            end=end,
            bucket=bucket,
            totals=totals,
            data=data,
            group_by=group_by,
        )

        usage.additional_properties = d
        return usage

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

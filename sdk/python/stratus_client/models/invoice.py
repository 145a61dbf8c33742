from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.line import Line


T = TypeVar("T", bound="Invoice")


@_attrs_define
class Invoice:
    """An invoice.

    Attributes:
        object_ (str): Always `invoice`.
        id (str):
        tenant_id (str):
        month (str): `YYYY-MM` (UTC).
        status (str): `draft` (still changing) or `closed` (final, immutable).
        currency (str): ISO 4217.
        plan (str):
        period_start (str):
        period_end (str):
        lines (list[Line]):
        subtotal (str): Sum of the lines, exact decimal.
        subtotal_nanos (int):
        closed_at (None | str | Unset): When a closed invoice was closed.
    """

    object_: str
    id: str
    tenant_id: str
    month: str
    status: str
    currency: str
    plan: str
    period_start: str
    period_end: str
    lines: list[Line]
    subtotal: str
    subtotal_nanos: int
    closed_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        object_ = self.object_

        id = self.id

        tenant_id = self.tenant_id

        month = self.month

        status = self.status

        currency = self.currency

        plan = self.plan

        period_start = self.period_start

        period_end = self.period_end

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        subtotal = self.subtotal

        subtotal_nanos = self.subtotal_nanos

        closed_at: None | str | Unset
        if isinstance(self.closed_at, Unset):
            closed_at = UNSET
        else:
            closed_at = self.closed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "id": id,
                "tenant_id": tenant_id,
                "month": month,
                "status": status,
                "currency": currency,
                "plan": plan,
                "period_start": period_start,
                "period_end": period_end,
                "lines": lines,
                "subtotal": subtotal,
                "subtotal_nanos": subtotal_nanos,
            }
        )
        if closed_at is not UNSET:
            field_dict["closed_at"] = closed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.line import Line  # noqa: PLC0415

        d = dict(src_dict)
        object_ = d.pop("object")

        id = d.pop("id")

        tenant_id = d.pop("tenant_id")

        month = d.pop("month")

        status = d.pop("status")

        currency = d.pop("currency")

        plan = d.pop("plan")

        period_start = d.pop("period_start")

        period_end = d.pop("period_end")

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = Line.from_dict(lines_item_data)

            lines.append(lines_item)

        subtotal = d.pop("subtotal")

        subtotal_nanos = d.pop("subtotal_nanos")

        def _parse_closed_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        closed_at = _parse_closed_at(d.pop("closed_at", UNSET))

        invoice = cls(
            object_=object_,
            id=id,
            tenant_id=tenant_id,
            month=month,
            status=status,
            currency=currency,
            plan=plan,
            period_start=period_start,
            period_end=period_end,
            lines=lines,
            subtotal=subtotal,
            subtotal_nanos=subtotal_nanos,
            closed_at=closed_at,
        )

        invoice.additional_properties = d
        return invoice

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

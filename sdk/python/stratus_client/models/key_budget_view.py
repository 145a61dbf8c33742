from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="KeyBudgetView")


@_attrs_define
class KeyBudgetView:
    """An API key's own budget this month, under its tenant's.

    Attributes:
        object_ (str): Always `billing.key_budget`.
        key_id (str):
        tenant_id (str):
        month (str): `YYYY-MM` (UTC).
        currency (str):
        spent (str): Settled cost of the key's requests this month.
        reserved (str): Held by the key's requests and jobs still running.
        hard_limit_reached (bool): Spend reached the key's limit: its requests are refused with 429
            `insufficient_quota`.
        hard_limit (None | str | Unset): Decimal string; null: the key has no budget of its own (its
            tenant's still applies).
        remaining (None | str | Unset): `hard_limit - spent - reserved` (not below zero); null: no limit.
    """

    object_: str
    key_id: str
    tenant_id: str
    month: str
    currency: str
    spent: str
    reserved: str
    hard_limit_reached: bool
    hard_limit: None | str | Unset = UNSET
    remaining: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        object_ = self.object_

        key_id = self.key_id

        tenant_id = self.tenant_id

        month = self.month

        currency = self.currency

        spent = self.spent

        reserved = self.reserved

        hard_limit_reached = self.hard_limit_reached

        hard_limit: None | str | Unset
        if isinstance(self.hard_limit, Unset):
            hard_limit = UNSET
        else:
            hard_limit = self.hard_limit

        remaining: None | str | Unset
        if isinstance(self.remaining, Unset):
            remaining = UNSET
        else:
            remaining = self.remaining

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "key_id": key_id,
                "tenant_id": tenant_id,
                "month": month,
                "currency": currency,
                "spent": spent,
                "reserved": reserved,
                "hard_limit_reached": hard_limit_reached,
            }
        )
        if hard_limit is not UNSET:
            field_dict["hard_limit"] = hard_limit
        if remaining is not UNSET:
            field_dict["remaining"] = remaining

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        object_ = d.pop("object")

        key_id = d.pop("key_id")

        tenant_id = d.pop("tenant_id")

        month = d.pop("month")

        currency = d.pop("currency")

        spent = d.pop("spent")

        reserved = d.pop("reserved")

        hard_limit_reached = d.pop("hard_limit_reached")

        def _parse_hard_limit(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hard_limit = _parse_hard_limit(d.pop("hard_limit", UNSET))

        def _parse_remaining(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        remaining = _parse_remaining(d.pop("remaining", UNSET))

        key_budget_view = cls(
            object_=object_,
            key_id=key_id,
            tenant_id=tenant_id,
            month=month,
            currency=currency,
            spent=spent,
            reserved=reserved,
            hard_limit_reached=hard_limit_reached,
            hard_limit=hard_limit,
            remaining=remaining,
        )

        key_budget_view.additional_properties = d
        return key_budget_view

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.key_budget_view import KeyBudgetView


T = TypeVar("T", bound="BudgetView")


@_attrs_define
class BudgetView:
    """A tenant's budget this month.

    Attributes:
        object_ (str): Always `billing.budget`.
        tenant_id (str):
        month (str): `YYYY-MM` (UTC).
        currency (str):
        plan (str):
        spent (str): Settled cost of this month's requests.
        reserved (str): Held by requests still running (their maximum cost).
        soft_limit_reached (bool): Spend reached the soft limit this month (show a banner).
        hard_limit_reached (bool): Spend reached the hard limit: requests are refused with 429
            `insufficient_quota`.
        soft_limit (None | str | Unset): Decimal strings; null: no limit.
        hard_limit (None | str | Unset):
        remaining (None | str | Unset): `hard_limit - spent - reserved` (not below zero); null: no limit.
        soft_alerted_at (None | str | Unset): When the soft-limit alert went out, if it did.
        hard_alerted_at (None | str | Unset):
        key (KeyBudgetView | None | Unset):
    """

    object_: str
    tenant_id: str
    month: str
    currency: str
    plan: str
    spent: str
    reserved: str
    soft_limit_reached: bool
    hard_limit_reached: bool
    soft_limit: None | str | Unset = UNSET
    hard_limit: None | str | Unset = UNSET
    remaining: None | str | Unset = UNSET
    soft_alerted_at: None | str | Unset = UNSET
    hard_alerted_at: None | str | Unset = UNSET
    key: KeyBudgetView | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.key_budget_view import KeyBudgetView  # noqa: PLC0415

        object_ = self.object_

        tenant_id = self.tenant_id

        month = self.month

        currency = self.currency

        plan = self.plan

        spent = self.spent

        reserved = self.reserved

        soft_limit_reached = self.soft_limit_reached

        hard_limit_reached = self.hard_limit_reached

        soft_limit: None | str | Unset
        if isinstance(self.soft_limit, Unset):
            soft_limit = UNSET
        else:
            soft_limit = self.soft_limit

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

        soft_alerted_at: None | str | Unset
        if isinstance(self.soft_alerted_at, Unset):
            soft_alerted_at = UNSET
        else:
            soft_alerted_at = self.soft_alerted_at

        hard_alerted_at: None | str | Unset
        if isinstance(self.hard_alerted_at, Unset):
            hard_alerted_at = UNSET
        else:
            hard_alerted_at = self.hard_alerted_at

        key: dict[str, Any] | None | Unset
        if isinstance(self.key, Unset):
            key = UNSET
        elif isinstance(self.key, KeyBudgetView):
            key = self.key.to_dict()
        else:
            key = self.key

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "tenant_id": tenant_id,
                "month": month,
                "currency": currency,
                "plan": plan,
                "spent": spent,
                "reserved": reserved,
                "soft_limit_reached": soft_limit_reached,
                "hard_limit_reached": hard_limit_reached,
            }
        )
        if soft_limit is not UNSET:
            field_dict["soft_limit"] = soft_limit
        if hard_limit is not UNSET:
            field_dict["hard_limit"] = hard_limit
        if remaining is not UNSET:
            field_dict["remaining"] = remaining
        if soft_alerted_at is not UNSET:
            field_dict["soft_alerted_at"] = soft_alerted_at
        if hard_alerted_at is not UNSET:
            field_dict["hard_alerted_at"] = hard_alerted_at
        if key is not UNSET:
            field_dict["key"] = key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.key_budget_view import KeyBudgetView  # noqa: PLC0415

        d = dict(src_dict)
        object_ = d.pop("object")

        tenant_id = d.pop("tenant_id")

        month = d.pop("month")

        currency = d.pop("currency")

        plan = d.pop("plan")

        spent = d.pop("spent")

        reserved = d.pop("reserved")

        soft_limit_reached = d.pop("soft_limit_reached")

        hard_limit_reached = d.pop("hard_limit_reached")

        def _parse_soft_limit(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        soft_limit = _parse_soft_limit(d.pop("soft_limit", UNSET))

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

        def _parse_soft_alerted_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        soft_alerted_at = _parse_soft_alerted_at(d.pop("soft_alerted_at", UNSET))

        def _parse_hard_alerted_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hard_alerted_at = _parse_hard_alerted_at(d.pop("hard_alerted_at", UNSET))

        def _parse_key(data: object) -> KeyBudgetView | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                key_type_0 = KeyBudgetView.from_dict(data)

                return key_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KeyBudgetView | None | Unset, data)

        key = _parse_key(d.pop("key", UNSET))

        budget_view = cls(
            object_=object_,
            tenant_id=tenant_id,
            month=month,
            currency=currency,
            plan=plan,
            spent=spent,
            reserved=reserved,
            soft_limit_reached=soft_limit_reached,
            hard_limit_reached=hard_limit_reached,
            soft_limit=soft_limit,
            hard_limit=hard_limit,
            remaining=remaining,
            soft_alerted_at=soft_alerted_at,
            hard_alerted_at=hard_alerted_at,
            key=key,
        )

        budget_view.additional_properties = d
        return budget_view

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

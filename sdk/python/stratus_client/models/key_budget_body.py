from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="KeyBudgetBody")


@_attrs_define
class KeyBudgetBody:
    """An API key's own monthly budget.

    Attributes:
        hard_limit (None | str | Unset): Decimal string in the catalog's currency; null: no budget of the
            key's own.
    """

    hard_limit: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        hard_limit: None | str | Unset
        if isinstance(self.hard_limit, Unset):
            hard_limit = UNSET
        else:
            hard_limit = self.hard_limit

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if hard_limit is not UNSET:
            field_dict["hard_limit"] = hard_limit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_hard_limit(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hard_limit = _parse_hard_limit(d.pop("hard_limit", UNSET))

        key_budget_body = cls(
            hard_limit=hard_limit,
        )

        return key_budget_body

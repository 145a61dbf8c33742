from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CreateTenant")


@_attrs_define
class CreateTenant:
    """A new tenant.

    Example:
        {'name': 'acme'}

    Attributes:
        name (str): Unique; letters, digits, `-` and `_`.
    """

    name: str

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        create_tenant = cls(
            name=name,
        )

        return create_tenant

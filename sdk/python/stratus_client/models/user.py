from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role, check_role
from ..types import UNSET, Unset

T = TypeVar("T", bound="User")


@_attrs_define
class User:
    """A user as the API shows it (never the password hash).

    Attributes:
        id (str):
        object_ (str): Always `user`.
        tenant_id (str):
        email (str):
        role (Role): A dashboard user's role in their tenant.
        created_at (int):
        disabled_at (int | None | Unset): When the user was disabled (cannot sign in); `null` while active.
    """

    id: str
    object_: str
    tenant_id: str
    email: str
    role: Role
    created_at: int
    disabled_at: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        object_ = self.object_

        tenant_id = self.tenant_id

        email = self.email

        role: str = self.role

        created_at = self.created_at

        disabled_at: int | None | Unset
        if isinstance(self.disabled_at, Unset):
            disabled_at = UNSET
        else:
            disabled_at = self.disabled_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "object": object_,
                "tenant_id": tenant_id,
                "email": email,
                "role": role,
                "created_at": created_at,
            }
        )
        if disabled_at is not UNSET:
            field_dict["disabled_at"] = disabled_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        object_ = d.pop("object")

        tenant_id = d.pop("tenant_id")

        email = d.pop("email")

        role = check_role(d.pop("role"))

        created_at = d.pop("created_at")

        def _parse_disabled_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        disabled_at = _parse_disabled_at(d.pop("disabled_at", UNSET))

        user = cls(
            id=id,
            object_=object_,
            tenant_id=tenant_id,
            email=email,
            role=role,
            created_at=created_at,
            disabled_at=disabled_at,
        )

        user.additional_properties = d
        return user

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

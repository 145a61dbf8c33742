from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.role import Role, check_role

T = TypeVar("T", bound="CreateUser")


@_attrs_define
class CreateUser:
    """A new dashboard user.

    Example:
        {'email': 'owner@example.com', 'password': 'correct horse battery staple', 'role': 'owner'}

    Attributes:
        email (str):
        password (str): At least 12 characters.
        role (Role): A dashboard user's role in their tenant.
    """

    email: str
    password: str
    role: Role

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        password = self.password

        role: str = self.role

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "email": email,
                "password": password,
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        password = d.pop("password")

        role = check_role(d.pop("role"))

        create_user = cls(
            email=email,
            password=password,
            role=role,
        )

        return create_user

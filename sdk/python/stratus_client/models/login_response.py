from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role, check_role

T = TypeVar("T", bound="LoginResponse")


@_attrs_define
class LoginResponse:
    """A session: its token (also set as the `stratus_session` cookie) and who
    it is for.

        Attributes:
            token (str): Send as `Authorization: Bearer <token>` from scripts.
            token_type (str): Always `Bearer`. Example: Bearer.
            expires_in (int): Seconds the session is valid for. Example: 43200.
            user_id (str):
            tenant_id (str):
            role (Role): A dashboard user's role in their tenant.
            csrf_token (str): This session's CSRF token: a page that uses the cookie (rather than
                the bearer token) sends it as `x-csrf-token` on calls that change
                something, unless its `Origin` is this deployment's.
    """

    token: str
    token_type: str
    expires_in: int
    user_id: str
    tenant_id: str
    role: Role
    csrf_token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        token = self.token

        token_type = self.token_type

        expires_in = self.expires_in

        user_id = self.user_id

        tenant_id = self.tenant_id

        role: str = self.role

        csrf_token = self.csrf_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "token": token,
                "token_type": token_type,
                "expires_in": expires_in,
                "user_id": user_id,
                "tenant_id": tenant_id,
                "role": role,
                "csrf_token": csrf_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        token_type = d.pop("token_type")

        expires_in = d.pop("expires_in")

        user_id = d.pop("user_id")

        tenant_id = d.pop("tenant_id")

        role = check_role(d.pop("role"))

        csrf_token = d.pop("csrf_token")

        login_response = cls(
            token=token,
            token_type=token_type,
            expires_in=expires_in,
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            csrf_token=csrf_token,
        )

        login_response.additional_properties = d
        return login_response

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.scope import Scope, check_scope
from ..types import UNSET, Unset

T = TypeVar("T", bound="ListApiKeyDataItem")


@_attrs_define
class ListApiKeyDataItem:
    """A key as the API and the CLI show it (never its secret or hash). Times
    are Unix seconds.

        Attributes:
            id (str):  Example: key_0192f7c1a2b3.
            object_ (str): Always `api_key`.
            tenant_id (str):
            scopes (list[Scope]): A set of scopes, stored as a comma-separated list. Example: ['speech', 'language'].
            created_at (int):
            name (None | str | Unset):
            expires_at (int | None | Unset):
            revoked_at (int | None | Unset):
            last_used_at (int | None | Unset):
    """

    id: str
    object_: str
    tenant_id: str
    scopes: list[Scope]
    created_at: int
    name: None | str | Unset = UNSET
    expires_at: int | None | Unset = UNSET
    revoked_at: int | None | Unset = UNSET
    last_used_at: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        object_ = self.object_

        tenant_id = self.tenant_id

        scopes = []
        for componentsschemas_scopes_item_data in self.scopes:
            componentsschemas_scopes_item: str = componentsschemas_scopes_item_data
            scopes.append(componentsschemas_scopes_item)

        created_at = self.created_at

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        expires_at: int | None | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        revoked_at: int | None | Unset
        if isinstance(self.revoked_at, Unset):
            revoked_at = UNSET
        else:
            revoked_at = self.revoked_at

        last_used_at: int | None | Unset
        if isinstance(self.last_used_at, Unset):
            last_used_at = UNSET
        else:
            last_used_at = self.last_used_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "object": object_,
                "tenant_id": tenant_id,
                "scopes": scopes,
                "created_at": created_at,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        object_ = d.pop("object")

        tenant_id = d.pop("tenant_id")

        scopes = []
        _scopes = d.pop("scopes")
        for componentsschemas_scopes_item_data in _scopes:
            componentsschemas_scopes_item = check_scope(componentsschemas_scopes_item_data)

            scopes.append(componentsschemas_scopes_item)

        created_at = d.pop("created_at")

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_expires_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_revoked_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at", UNSET))

        def _parse_last_used_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at", UNSET))

        list_api_key_data_item = cls(
            id=id,
            object_=object_,
            tenant_id=tenant_id,
            scopes=scopes,
            created_at=created_at,
            name=name,
            expires_at=expires_at,
            revoked_at=revoked_at,
            last_used_at=last_used_at,
        )

        list_api_key_data_item.additional_properties = d
        return list_api_key_data_item

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

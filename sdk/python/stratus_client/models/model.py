from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Model")


@_attrs_define
class Model:
    """One loaded model, as `/v1/models` shows it.

    Attributes:
        id (str):
        object_ (str): Always `"model"`.
        created (int): Unix seconds when this process loaded it.
        owned_by (str):
        task (str):
        service (str): `speech` or `language`.
        languages (list[str]):
        license_ (None | str | Unset):
        attribution (None | str | Unset):
        aliases (list[str] | Unset): Other names accepted for this model (e.g. `whisper-1`).
    """

    id: str
    object_: str
    created: int
    owned_by: str
    task: str
    service: str
    languages: list[str]
    license_: None | str | Unset = UNSET
    attribution: None | str | Unset = UNSET
    aliases: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        object_ = self.object_

        created = self.created

        owned_by = self.owned_by

        task = self.task

        service = self.service

        languages = self.languages

        license_: None | str | Unset
        if isinstance(self.license_, Unset):
            license_ = UNSET
        else:
            license_ = self.license_

        attribution: None | str | Unset
        if isinstance(self.attribution, Unset):
            attribution = UNSET
        else:
            attribution = self.attribution

        aliases: list[str] | Unset = UNSET
        if not isinstance(self.aliases, Unset):
            aliases = self.aliases

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "object": object_,
                "created": created,
                "owned_by": owned_by,
                "task": task,
                "service": service,
                "languages": languages,
            }
        )
        if license_ is not UNSET:
            field_dict["license"] = license_
        if attribution is not UNSET:
            field_dict["attribution"] = attribution
        if aliases is not UNSET:
            field_dict["aliases"] = aliases

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        object_ = d.pop("object")

        created = d.pop("created")

        owned_by = d.pop("owned_by")

        task = d.pop("task")

        service = d.pop("service")

        languages = cast(list[str], d.pop("languages"))

        def _parse_license_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        license_ = _parse_license_(d.pop("license", UNSET))

        def _parse_attribution(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        attribution = _parse_attribution(d.pop("attribution", UNSET))

        aliases = cast(list[str], d.pop("aliases", UNSET))

        model = cls(
            id=id,
            object_=object_,
            created=created,
            owned_by=owned_by,
            task=task,
            service=service,
            languages=languages,
            license_=license_,
            attribution=attribution,
            aliases=aliases,
        )

        model.additional_properties = d
        return model

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

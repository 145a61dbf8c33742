from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.entity import Entity


T = TypeVar("T", bound="DocumentResultEntitiesType0")


@_attrs_define
class DocumentResultEntitiesType0:
    """
    Attributes:
        id (str):
        entities (list[Entity]):
        redacted_text (None | str | Unset):
    """

    id: str
    entities: list[Entity]
    redacted_text: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        entities = []
        for entities_item_data in self.entities:
            entities_item = entities_item_data.to_dict()
            entities.append(entities_item)

        redacted_text: None | str | Unset
        if isinstance(self.redacted_text, Unset):
            redacted_text = UNSET
        else:
            redacted_text = self.redacted_text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "entities": entities,
            }
        )
        if redacted_text is not UNSET:
            field_dict["redacted_text"] = redacted_text

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.entity import Entity  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        entities = []
        _entities = d.pop("entities")
        for entities_item_data in _entities:
            entities_item = Entity.from_dict(entities_item_data)

            entities.append(entities_item)

        def _parse_redacted_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        redacted_text = _parse_redacted_text(d.pop("redacted_text", UNSET))

        document_result_entities_type_0 = cls(
            id=id,
            entities=entities,
            redacted_text=redacted_text,
        )

        document_result_entities_type_0.additional_properties = d
        return document_result_entities_type_0

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.phrase import Phrase


T = TypeVar("T", bound="DocumentResultKeyPhrasesType0")


@_attrs_define
class DocumentResultKeyPhrasesType0:
    """
    Attributes:
        id (str):
        key_phrases (list[Phrase]):
    """

    id: str
    key_phrases: list[Phrase]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        key_phrases = []
        for key_phrases_item_data in self.key_phrases:
            key_phrases_item = key_phrases_item_data.to_dict()
            key_phrases.append(key_phrases_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "key_phrases": key_phrases,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.phrase import Phrase  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        key_phrases = []
        _key_phrases = d.pop("key_phrases")
        for key_phrases_item_data in _key_phrases:
            key_phrases_item = Phrase.from_dict(key_phrases_item_data)

            key_phrases.append(key_phrases_item)

        document_result_key_phrases_type_0 = cls(
            id=id,
            key_phrases=key_phrases,
        )

        document_result_key_phrases_type_0.additional_properties = d
        return document_result_key_phrases_type_0

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

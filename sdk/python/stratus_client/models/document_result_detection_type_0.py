from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.candidate import Candidate


T = TypeVar("T", bound="DocumentResultDetectionType0")


@_attrs_define
class DocumentResultDetectionType0:
    """
    Attributes:
        id (str):
        language (str):
        confidence (float):
        alternatives (list[Candidate]):
    """

    id: str
    language: str
    confidence: float
    alternatives: list[Candidate]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        language = self.language

        confidence = self.confidence

        alternatives = []
        for alternatives_item_data in self.alternatives:
            alternatives_item = alternatives_item_data.to_dict()
            alternatives.append(alternatives_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "language": language,
                "confidence": confidence,
                "alternatives": alternatives,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.candidate import Candidate  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        language = d.pop("language")

        confidence = d.pop("confidence")

        alternatives = []
        _alternatives = d.pop("alternatives")
        for alternatives_item_data in _alternatives:
            alternatives_item = Candidate.from_dict(alternatives_item_data)

            alternatives.append(alternatives_item)

        document_result_detection_type_0 = cls(
            id=id,
            language=language,
            confidence=confidence,
            alternatives=alternatives,
        )

        document_result_detection_type_0.additional_properties = d
        return document_result_detection_type_0

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

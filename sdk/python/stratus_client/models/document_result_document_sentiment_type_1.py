from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.document_error import DocumentError


T = TypeVar("T", bound="DocumentResultDocumentSentimentType1")


@_attrs_define
class DocumentResultDocumentSentimentType1:
    """
    Attributes:
        id (str):
        error (DocumentError): Why one document was not processed.
    """

    id: str
    error: DocumentError
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        error = self.error.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_error import DocumentError  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        error = DocumentError.from_dict(d.pop("error"))

        document_result_document_sentiment_type_1 = cls(
            id=id,
            error=error,
        )

        document_result_document_sentiment_type_1.additional_properties = d
        return document_result_document_sentiment_type_1

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

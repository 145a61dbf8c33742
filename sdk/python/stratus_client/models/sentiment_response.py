from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.document_result_document_sentiment_type_0 import DocumentResultDocumentSentimentType0
    from ..models.document_result_document_sentiment_type_1 import DocumentResultDocumentSentimentType1
    from ..models.document_usage import DocumentUsage


T = TypeVar("T", bound="SentimentResponse")


@_attrs_define
class SentimentResponse:
    """
    Attributes:
        object_ (str): Always `list`.
        model (str):
        data (list[DocumentResultDocumentSentimentType0 | DocumentResultDocumentSentimentType1]):
        usage (DocumentUsage): `usage` of the analysis endpoints: the documents processed and their
            characters (failed documents count for neither).
    """

    object_: str
    model: str
    data: list[DocumentResultDocumentSentimentType0 | DocumentResultDocumentSentimentType1]
    usage: DocumentUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.document_result_document_sentiment_type_0 import DocumentResultDocumentSentimentType0  # noqa: PLC0415

        object_ = self.object_

        model = self.model

        data = []
        for data_item_data in self.data:
            data_item: dict[str, Any]
            if isinstance(data_item_data, DocumentResultDocumentSentimentType0):
                data_item = data_item_data.to_dict()
            else:
                data_item = data_item_data.to_dict()

            data.append(data_item)

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "object": object_,
                "model": model,
                "data": data,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_result_document_sentiment_type_0 import DocumentResultDocumentSentimentType0  # noqa: PLC0415
        from ..models.document_result_document_sentiment_type_1 import DocumentResultDocumentSentimentType1  # noqa: PLC0415
        from ..models.document_usage import DocumentUsage  # noqa: PLC0415

        d = dict(src_dict)
        object_ = d.pop("object")

        model = d.pop("model")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:

            def _parse_data_item(
                data: object,
            ) -> DocumentResultDocumentSentimentType0 | DocumentResultDocumentSentimentType1:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_document_result_document_sentiment_type_0 = (
                        DocumentResultDocumentSentimentType0.from_dict(data)
                    )

                    return componentsschemas_document_result_document_sentiment_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_document_result_document_sentiment_type_1 = (
                    DocumentResultDocumentSentimentType1.from_dict(data)
                )

                return componentsschemas_document_result_document_sentiment_type_1

            data_item = _parse_data_item(data_item_data)

            data.append(data_item)

        usage = DocumentUsage.from_dict(d.pop("usage"))

        sentiment_response = cls(
            object_=object_,
            model=model,
            data=data,
            usage=usage,
        )

        sentiment_response.additional_properties = d
        return sentiment_response

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.summary_sentence import SummarySentence


T = TypeVar("T", bound="DocumentResultSummaryType0")


@_attrs_define
class DocumentResultSummaryType0:
    """
    Attributes:
        id (str):
        summary (str):
        sentences (list[SummarySentence]): The extracted sentences (empty for an abstractive summary).
        finish_reason (None | str | Unset): Abstractive only: `stop` (the model ended the summary) or `length`
            (it reached `max_tokens`).
    """

    id: str
    summary: str
    sentences: list[SummarySentence]
    finish_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        summary = self.summary

        sentences = []
        for sentences_item_data in self.sentences:
            sentences_item = sentences_item_data.to_dict()
            sentences.append(sentences_item)

        finish_reason: None | str | Unset
        if isinstance(self.finish_reason, Unset):
            finish_reason = UNSET
        else:
            finish_reason = self.finish_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "summary": summary,
                "sentences": sentences,
            }
        )
        if finish_reason is not UNSET:
            field_dict["finish_reason"] = finish_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.summary_sentence import SummarySentence  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        summary = d.pop("summary")

        sentences = []
        _sentences = d.pop("sentences")
        for sentences_item_data in _sentences:
            sentences_item = SummarySentence.from_dict(sentences_item_data)

            sentences.append(sentences_item)

        def _parse_finish_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        finish_reason = _parse_finish_reason(d.pop("finish_reason", UNSET))

        document_result_summary_type_0 = cls(
            id=id,
            summary=summary,
            sentences=sentences,
            finish_reason=finish_reason,
        )

        document_result_summary_type_0.additional_properties = d
        return document_result_summary_type_0

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.summary_mode import SummaryMode, check_summary_mode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.document_input_type_1 import DocumentInputType1


T = TypeVar("T", bound="SummarizeRequest")


@_attrs_define
class SummarizeRequest:
    """
    Attributes:
        input_ (list[DocumentInputType1 | str] | str): `input`: one document or a list.
        model (None | str | Unset): Extractive: a loaded embeddings model; abstractive: a loaded
            text-generation model (default: the only one of its kind).
        max_sentences (int | None | Unset): Extractive only: sentences to keep (default 3, at most 100).
        ratio (float | None | Unset): Extractive only: share of the sentences to keep, in (0, 1].
        max_tokens (int | None | Unset): Abstractive only: most tokens of each summary (default 128, at
            most 512).
        mode (SummaryMode | Unset): Kind of summary.
    """

    input_: list[DocumentInputType1 | str] | str
    model: None | str | Unset = UNSET
    max_sentences: int | None | Unset = UNSET
    ratio: float | None | Unset = UNSET
    max_tokens: int | None | Unset = UNSET
    mode: SummaryMode | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.document_input_type_1 import DocumentInputType1  # noqa: PLC0415

        input_: list[dict[str, Any] | str] | str
        if isinstance(self.input_, list):
            input_ = []
            for componentsschemas_documents_input_type_1_item_data in self.input_:
                componentsschemas_documents_input_type_1_item: dict[str, Any] | str
                if isinstance(componentsschemas_documents_input_type_1_item_data, DocumentInputType1):
                    componentsschemas_documents_input_type_1_item = (
                        componentsschemas_documents_input_type_1_item_data.to_dict()
                    )
                else:
                    componentsschemas_documents_input_type_1_item = componentsschemas_documents_input_type_1_item_data
                input_.append(componentsschemas_documents_input_type_1_item)

        else:
            input_ = self.input_

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        max_sentences: int | None | Unset
        if isinstance(self.max_sentences, Unset):
            max_sentences = UNSET
        else:
            max_sentences = self.max_sentences

        ratio: float | None | Unset
        if isinstance(self.ratio, Unset):
            ratio = UNSET
        else:
            ratio = self.ratio

        max_tokens: int | None | Unset
        if isinstance(self.max_tokens, Unset):
            max_tokens = UNSET
        else:
            max_tokens = self.max_tokens

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "input": input_,
            }
        )
        if model is not UNSET:
            field_dict["model"] = model
        if max_sentences is not UNSET:
            field_dict["max_sentences"] = max_sentences
        if ratio is not UNSET:
            field_dict["ratio"] = ratio
        if max_tokens is not UNSET:
            field_dict["max_tokens"] = max_tokens
        if mode is not UNSET:
            field_dict["mode"] = mode

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_input_type_1 import DocumentInputType1  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_input_(data: object) -> list[DocumentInputType1 | str] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_documents_input_type_1 = []
                _componentsschemas_documents_input_type_1 = data
                for componentsschemas_documents_input_type_1_item_data in _componentsschemas_documents_input_type_1:

                    def _parse_componentsschemas_documents_input_type_1_item(data: object) -> DocumentInputType1 | str:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            componentsschemas_document_input_type_1 = DocumentInputType1.from_dict(data)

                            return componentsschemas_document_input_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(DocumentInputType1 | str, data)

                    componentsschemas_documents_input_type_1_item = (
                        _parse_componentsschemas_documents_input_type_1_item(
                            componentsschemas_documents_input_type_1_item_data
                        )
                    )

                    componentsschemas_documents_input_type_1.append(componentsschemas_documents_input_type_1_item)

                return componentsschemas_documents_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[DocumentInputType1 | str] | str, data)

        input_ = _parse_input_(d.pop("input"))

        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))

        def _parse_max_sentences(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_sentences = _parse_max_sentences(d.pop("max_sentences", UNSET))

        def _parse_ratio(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ratio = _parse_ratio(d.pop("ratio", UNSET))

        def _parse_max_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_tokens = _parse_max_tokens(d.pop("max_tokens", UNSET))

        _mode = d.pop("mode", UNSET)
        mode: SummaryMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = check_summary_mode(_mode)

        summarize_request = cls(
            input_=input_,
            model=model,
            max_sentences=max_sentences,
            ratio=ratio,
            max_tokens=max_tokens,
            mode=mode,
        )

        summarize_request.additional_properties = d
        return summarize_request

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.document_input_type_1 import DocumentInputType1
    from ..models.label_input_type_1 import LabelInputType1


T = TypeVar("T", bound="ClassifyRequest")


@_attrs_define
class ClassifyRequest:
    """
    Attributes:
        input_ (list[DocumentInputType1 | str] | str): `input`: one document or a list.
        labels (list[LabelInputType1 | str]):
        multi_label (bool | Unset): Independent per-label scores instead of a distribution.
        model (None | str | Unset): A loaded embeddings model (default: the only one).
    """

    input_: list[DocumentInputType1 | str] | str
    labels: list[LabelInputType1 | str]
    multi_label: bool | Unset = UNSET
    model: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.document_input_type_1 import DocumentInputType1  # noqa: PLC0415
        from ..models.label_input_type_1 import LabelInputType1  # noqa: PLC0415

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

        labels = []
        for labels_item_data in self.labels:
            labels_item: dict[str, Any] | str
            if isinstance(labels_item_data, LabelInputType1):
                labels_item = labels_item_data.to_dict()
            else:
                labels_item = labels_item_data
            labels.append(labels_item)

        multi_label = self.multi_label

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "input": input_,
                "labels": labels,
            }
        )
        if multi_label is not UNSET:
            field_dict["multi_label"] = multi_label
        if model is not UNSET:
            field_dict["model"] = model

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_input_type_1 import DocumentInputType1  # noqa: PLC0415
        from ..models.label_input_type_1 import LabelInputType1  # noqa: PLC0415

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

        labels = []
        _labels = d.pop("labels")
        for labels_item_data in _labels:

            def _parse_labels_item(data: object) -> LabelInputType1 | str:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_label_input_type_1 = LabelInputType1.from_dict(data)

                    return componentsschemas_label_input_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(LabelInputType1 | str, data)

            labels_item = _parse_labels_item(labels_item_data)

            labels.append(labels_item)

        multi_label = d.pop("multi_label", UNSET)

        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))

        classify_request = cls(
            input_=input_,
            labels=labels,
            multi_label=multi_label,
            model=model,
        )

        classify_request.additional_properties = d
        return classify_request

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

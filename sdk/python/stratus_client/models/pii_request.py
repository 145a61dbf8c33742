from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.redaction_mode import RedactionMode, check_redaction_mode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.document_input_type_1 import DocumentInputType1


T = TypeVar("T", bound="PiiRequest")


@_attrs_define
class PiiRequest:
    """
    Attributes:
        input_ (list[DocumentInputType1 | str] | str): `input`: one document or a list.
        model (None | str | Unset):
        allow (list[str] | Unset): Types never reported (nor redacted).
        deny (list[str] | Unset): When non-empty, the only types reported.
        redaction (RedactionMode | Unset): How values are replaced: `mask` (one `*` per char, offsets still line
            up), `type` (`[EMAIL]`) or `hash` (`[EMAIL:<12 hex of HMAC-SHA256>]`, needs
            the operator's key).
    """

    input_: list[DocumentInputType1 | str] | str
    model: None | str | Unset = UNSET
    allow: list[str] | Unset = UNSET
    deny: list[str] | Unset = UNSET
    redaction: RedactionMode | Unset = UNSET
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

        allow: list[str] | Unset = UNSET
        if not isinstance(self.allow, Unset):
            allow = self.allow

        deny: list[str] | Unset = UNSET
        if not isinstance(self.deny, Unset):
            deny = self.deny

        redaction: str | Unset = UNSET
        if not isinstance(self.redaction, Unset):
            redaction = self.redaction

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "input": input_,
            }
        )
        if model is not UNSET:
            field_dict["model"] = model
        if allow is not UNSET:
            field_dict["allow"] = allow
        if deny is not UNSET:
            field_dict["deny"] = deny
        if redaction is not UNSET:
            field_dict["redaction"] = redaction

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

        allow = cast(list[str], d.pop("allow", UNSET))

        deny = cast(list[str], d.pop("deny", UNSET))

        _redaction = d.pop("redaction", UNSET)
        redaction: RedactionMode | Unset
        if isinstance(_redaction, Unset):
            redaction = UNSET
        else:
            redaction = check_redaction_mode(_redaction)

        pii_request = cls(
            input_=input_,
            model=model,
            allow=allow,
            deny=deny,
            redaction=redaction,
        )

        pii_request.additional_properties = d
        return pii_request

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.error_body import ErrorBody
    from ..models.not_ready_body_components import NotReadyBodyComponents


T = TypeVar("T", bound="NotReadyBody")


@_attrs_define
class NotReadyBody:
    """`/readyz` while something is not ready: the components and the error
    envelope side by side.

        Attributes:
            error (ErrorBody): OpenAI's error object.
            status (str):
            components (NotReadyBodyComponents):
    """

    error: ErrorBody
    status: str
    components: NotReadyBodyComponents
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error.to_dict()

        status = self.status

        components = self.components.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "status": status,
                "components": components,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_body import ErrorBody  # noqa: PLC0415
        from ..models.not_ready_body_components import NotReadyBodyComponents  # noqa: PLC0415

        d = dict(src_dict)
        error = ErrorBody.from_dict(d.pop("error"))

        status = d.pop("status")

        components = NotReadyBodyComponents.from_dict(d.pop("components"))

        not_ready_body = cls(
            error=error,
            status=status,
            components=components,
        )

        not_ready_body.additional_properties = d
        return not_ready_body

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.component_state_type_0 import ComponentStateType0
    from ..models.component_state_type_1 import ComponentStateType1
    from ..models.component_state_type_2 import ComponentStateType2


T = TypeVar("T", bound="NotReadyBodyComponents")


@_attrs_define
class NotReadyBodyComponents:
    additional_properties: dict[str, ComponentStateType0 | ComponentStateType1 | ComponentStateType2] = _attrs_field(
        init=False, factory=dict
    )

    def to_dict(self) -> dict[str, Any]:
        from ..models.component_state_type_0 import ComponentStateType0  # noqa: PLC0415
        from ..models.component_state_type_1 import ComponentStateType1  # noqa: PLC0415

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            if isinstance(prop, ComponentStateType0):
                field_dict[prop_name] = prop.to_dict()
            elif isinstance(prop, ComponentStateType1):
                field_dict[prop_name] = prop.to_dict()
            else:
                field_dict[prop_name] = prop.to_dict()

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component_state_type_0 import ComponentStateType0  # noqa: PLC0415
        from ..models.component_state_type_1 import ComponentStateType1  # noqa: PLC0415
        from ..models.component_state_type_2 import ComponentStateType2  # noqa: PLC0415

        d = dict(src_dict)
        not_ready_body_components = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(
                data: object,
            ) -> ComponentStateType0 | ComponentStateType1 | ComponentStateType2:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_component_state_type_0 = ComponentStateType0.from_dict(data)

                    return componentsschemas_component_state_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_component_state_type_1 = ComponentStateType1.from_dict(data)

                    return componentsschemas_component_state_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_component_state_type_2 = ComponentStateType2.from_dict(data)

                return componentsschemas_component_state_type_2

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        not_ready_body_components.additional_properties = additional_properties
        return not_ready_body_components

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> ComponentStateType0 | ComponentStateType1 | ComponentStateType2:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: ComponentStateType0 | ComponentStateType1 | ComponentStateType2) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

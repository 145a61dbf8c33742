from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Entity")


@_attrs_define
class Entity:
    """One entity in a text.

    Example:
        {'end': 24, 'score': 1.0, 'start': 9, 'text': 'ana@example.com', 'type': 'EMAIL'}

    Attributes:
        type_ (str):
        text (str):
        start (int): Start, in chars.
        end (int): End (exclusive), in chars.
        score (float):
    """

    type_: str
    text: str
    start: int
    end: int
    score: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        text = self.text

        start = self.start

        end = self.end

        score = self.score

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "text": text,
                "start": start,
                "end": end,
                "score": score,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = d.pop("type")

        text = d.pop("text")

        start = d.pop("start")

        end = d.pop("end")

        score = d.pop("score")

        entity = cls(
            type_=type_,
            text=text,
            start=start,
            end=end,
            score=score,
        )

        entity.additional_properties = d
        return entity

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

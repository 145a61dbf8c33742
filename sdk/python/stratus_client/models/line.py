from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Line")


@_attrs_define
class Line:
    """One line item.

    Attributes:
        model (str): The model as the events name it (`*`: events without a model).
        unit (str): What the unit price is per: `audio_second`, `1k_characters`,
            `1k_tokens`, `request`, `document`.
        quantity (str): Quantity in `unit`s, exact decimal (minimums applied).
        unit_price (str): Price per `unit`, exact decimal.
        amount (str): `quantity × unit_price`, exact decimal.
        amount_nanos (int): The same amount in billionths of the currency, for exact sums.
    """

    model: str
    unit: str
    quantity: str
    unit_price: str
    amount: str
    amount_nanos: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model = self.model

        unit = self.unit

        quantity = self.quantity

        unit_price = self.unit_price

        amount = self.amount

        amount_nanos = self.amount_nanos

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model": model,
                "unit": unit,
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": amount,
                "amount_nanos": amount_nanos,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        model = d.pop("model")

        unit = d.pop("unit")

        quantity = d.pop("quantity")

        unit_price = d.pop("unit_price")

        amount = d.pop("amount")

        amount_nanos = d.pop("amount_nanos")

        line = cls(
            model=model,
            unit=unit,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            amount_nanos=amount_nanos,
        )

        line.additional_properties = d
        return line

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

from typing import Literal

ComponentStateType0Status = Literal["starting"]

COMPONENT_STATE_TYPE_0_STATUS_VALUES: set[ComponentStateType0Status] = {
    "starting",
}


def check_component_state_type_0_status(value: str) -> ComponentStateType0Status:
    if value in COMPONENT_STATE_TYPE_0_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {COMPONENT_STATE_TYPE_0_STATUS_VALUES!r}")

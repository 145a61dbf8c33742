from typing import Literal

ComponentStateType2Status = Literal["failed"]

COMPONENT_STATE_TYPE_2_STATUS_VALUES: set[ComponentStateType2Status] = {
    "failed",
}


def check_component_state_type_2_status(value: str) -> ComponentStateType2Status:
    if value in COMPONENT_STATE_TYPE_2_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {COMPONENT_STATE_TYPE_2_STATUS_VALUES!r}")

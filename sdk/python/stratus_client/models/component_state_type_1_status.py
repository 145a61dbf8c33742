from typing import Literal

ComponentStateType1Status = Literal["ready"]

COMPONENT_STATE_TYPE_1_STATUS_VALUES: set[ComponentStateType1Status] = {
    "ready",
}


def check_component_state_type_1_status(value: str) -> ComponentStateType1Status:
    if value in COMPONENT_STATE_TYPE_1_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {COMPONENT_STATE_TYPE_1_STATUS_VALUES!r}")

from typing import Literal

RedactionMode = Literal["hash", "mask", "type"]

REDACTION_MODE_VALUES: set[RedactionMode] = {
    "hash",
    "mask",
    "type",
}


def check_redaction_mode(value: str) -> RedactionMode:
    if value in REDACTION_MODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {REDACTION_MODE_VALUES!r}")

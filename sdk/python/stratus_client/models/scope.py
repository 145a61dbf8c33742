from typing import Literal

Scope = Literal["admin", "billing:read", "keys", "language", "speech", "usage:read"]

SCOPE_VALUES: set[Scope] = {
    "admin",
    "billing:read",
    "keys",
    "language",
    "speech",
    "usage:read",
}


def check_scope(value: str) -> Scope:
    if value in SCOPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SCOPE_VALUES!r}")

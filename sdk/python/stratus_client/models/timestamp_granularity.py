from typing import Literal

TimestampGranularity = Literal["segment", "word"]

TIMESTAMP_GRANULARITY_VALUES: set[TimestampGranularity] = {
    "segment",
    "word",
}


def check_timestamp_granularity(value: str) -> TimestampGranularity:
    if value in TIMESTAMP_GRANULARITY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TIMESTAMP_GRANULARITY_VALUES!r}")

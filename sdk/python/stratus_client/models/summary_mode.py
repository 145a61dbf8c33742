from typing import Literal

SummaryMode = Literal["abstractive", "extractive"]

SUMMARY_MODE_VALUES: set[SummaryMode] = {
    "abstractive",
    "extractive",
}


def check_summary_mode(value: str) -> SummaryMode:
    if value in SUMMARY_MODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SUMMARY_MODE_VALUES!r}")

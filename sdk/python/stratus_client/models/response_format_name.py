from typing import Literal

ResponseFormatName = Literal["json", "srt", "text", "verbose_json", "vtt"]

RESPONSE_FORMAT_NAME_VALUES: set[ResponseFormatName] = {
    "json",
    "srt",
    "text",
    "verbose_json",
    "vtt",
}


def check_response_format_name(value: str) -> ResponseFormatName:
    if value in RESPONSE_FORMAT_NAME_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {RESPONSE_FORMAT_NAME_VALUES!r}")

from typing import Literal

SentimentLabel = Literal["mixed", "negative", "neutral", "positive"]

SENTIMENT_LABEL_VALUES: set[SentimentLabel] = {
    "mixed",
    "negative",
    "neutral",
    "positive",
}


def check_sentiment_label(value: str) -> SentimentLabel:
    if value in SENTIMENT_LABEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SENTIMENT_LABEL_VALUES!r}")

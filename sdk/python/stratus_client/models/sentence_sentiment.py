from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sentiment_label import SentimentLabel, check_sentiment_label

if TYPE_CHECKING:
    from ..models.sentiment_scores import SentimentScores


T = TypeVar("T", bound="SentenceSentiment")


@_attrs_define
class SentenceSentiment:
    """One sentence's sentiment.

    Attributes:
        text (str):
        start (int): Char offset of the sentence in the document.
        end (int): Char offset just past it.
        sentiment (SentimentLabel): A document's or a sentence's label (`mixed`: documents only, when
            their sentences disagree strongly).
        scores (SentimentScores): Probabilities of one text (they sum to 1). Example: {'negative': 0.02, 'neutral':
            0.07, 'positive': 0.91}.
    """

    text: str
    start: int
    end: int
    sentiment: SentimentLabel
    scores: SentimentScores
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        text = self.text

        start = self.start

        end = self.end

        sentiment: str = self.sentiment

        scores = self.scores.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "text": text,
                "start": start,
                "end": end,
                "sentiment": sentiment,
                "scores": scores,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.sentiment_scores import SentimentScores  # noqa: PLC0415

        d = dict(src_dict)
        text = d.pop("text")

        start = d.pop("start")

        end = d.pop("end")

        sentiment = check_sentiment_label(d.pop("sentiment"))

        scores = SentimentScores.from_dict(d.pop("scores"))

        sentence_sentiment = cls(
            text=text,
            start=start,
            end=end,
            sentiment=sentiment,
            scores=scores,
        )

        sentence_sentiment.additional_properties = d
        return sentence_sentiment

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

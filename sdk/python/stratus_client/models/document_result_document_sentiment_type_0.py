from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sentiment_label import SentimentLabel, check_sentiment_label
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.sentence_sentiment import SentenceSentiment
    from ..models.sentiment_scores import SentimentScores


T = TypeVar("T", bound="DocumentResultDocumentSentimentType0")


@_attrs_define
class DocumentResultDocumentSentimentType0:
    """One document's sentiment.

    Attributes:
        id (str):
        sentiment (SentimentLabel): A document's or a sentence's label (`mixed`: documents only, when
            their sentences disagree strongly).
        scores (SentimentScores): Probabilities of one text (they sum to 1). Example: {'negative': 0.02, 'neutral':
            0.07, 'positive': 0.91}.
        sentences (list[SentenceSentiment] | None | Unset):
    """

    id: str
    sentiment: SentimentLabel
    scores: SentimentScores
    sentences: list[SentenceSentiment] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        sentiment: str = self.sentiment

        scores = self.scores.to_dict()

        sentences: list[dict[str, Any]] | None | Unset
        if isinstance(self.sentences, Unset):
            sentences = UNSET
        elif isinstance(self.sentences, list):
            sentences = []
            for sentences_type_0_item_data in self.sentences:
                sentences_type_0_item = sentences_type_0_item_data.to_dict()
                sentences.append(sentences_type_0_item)

        else:
            sentences = self.sentences

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "sentiment": sentiment,
                "scores": scores,
            }
        )
        if sentences is not UNSET:
            field_dict["sentences"] = sentences

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.sentence_sentiment import SentenceSentiment  # noqa: PLC0415
        from ..models.sentiment_scores import SentimentScores  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        sentiment = check_sentiment_label(d.pop("sentiment"))

        scores = SentimentScores.from_dict(d.pop("scores"))

        def _parse_sentences(data: object) -> list[SentenceSentiment] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                sentences_type_0 = []
                _sentences_type_0 = data
                for sentences_type_0_item_data in _sentences_type_0:
                    sentences_type_0_item = SentenceSentiment.from_dict(sentences_type_0_item_data)

                    sentences_type_0.append(sentences_type_0_item)

                return sentences_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[SentenceSentiment] | None | Unset, data)

        sentences = _parse_sentences(d.pop("sentences", UNSET))

        document_result_document_sentiment_type_0 = cls(
            id=id,
            sentiment=sentiment,
            scores=scores,
            sentences=sentences,
        )

        document_result_document_sentiment_type_0.additional_properties = d
        return document_result_document_sentiment_type_0

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

//! A document's sentiment from its sentences' (free of HTTP and models).
//!
//! The document's scores are the mean of its sentences' scores, each
//! sentence weighted by its length in chars (a one-word aside does not
//! outvote a paragraph). Its label is the best of those scores, except
//! `mixed`: when one sentence is positive and another negative, each with a
//! score of at least [`MIXED_MIN_SCORE`], the document says both things
//! strongly and no single label is honest.

use serde::Serialize;
use stratus_models::sentiment::SentimentScores;

/// Score a positive and a negative sentence each need for the document to
/// be `mixed`.
pub const MIXED_MIN_SCORE: f32 = 0.6;

/// A document's or a sentence's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

impl Label {
    /// The best class of `scores` (never `Mixed`).
    pub fn of(scores: &SentimentScores) -> Self {
        match scores.label() {
            "positive" => Label::Positive,
            "negative" => Label::Negative,
            _ => Label::Neutral,
        }
    }
}

/// The label and scores of a document whose sentences have `sentences`
/// (length in chars, scores). No sentences: neutral with certainty.
pub fn document(sentences: &[(usize, SentimentScores)]) -> (Label, SentimentScores) {
    let total: usize = sentences.iter().map(|(len, _)| (*len).max(1)).sum();
    if total == 0 {
        let scores = SentimentScores {
            positive: 0.0,
            neutral: 1.0,
            negative: 0.0,
        };
        return (Label::Neutral, scores);
    }
    let mut mean = SentimentScores {
        positive: 0.0,
        neutral: 0.0,
        negative: 0.0,
    };
    for (len, s) in sentences {
        let weight = (*len).max(1) as f32 / total as f32;
        mean.positive += weight * s.positive;
        mean.neutral += weight * s.neutral;
        mean.negative += weight * s.negative;
    }
    let strongly = |pick: fn(&SentimentScores) -> f32, label| {
        sentences
            .iter()
            .any(|(_, s)| Label::of(s) == label && pick(s) >= MIXED_MIN_SCORE)
    };
    let mixed =
        strongly(|s| s.positive, Label::Positive) && strongly(|s| s.negative, Label::Negative);
    let label = if mixed {
        Label::Mixed
    } else {
        Label::of(&mean)
    };
    (label, mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(positive: f32, neutral: f32, negative: f32) -> SentimentScores {
        SentimentScores {
            positive,
            neutral,
            negative,
        }
    }

    #[test]
    fn weighted_mean_and_mixed() {
        let (label, scores) = document(&[(30, s(0.9, 0.1, 0.0)), (10, s(0.1, 0.8, 0.1))]);
        assert_eq!(label, Label::Positive);
        assert!((scores.positive - 0.7).abs() < 1e-6);
        assert!((scores.positive + scores.neutral + scores.negative - 1.0).abs() < 1e-6);
        let (label, _) = document(&[(20, s(0.8, 0.1, 0.1)), (20, s(0.1, 0.2, 0.7))]);
        assert_eq!(label, Label::Mixed);
        // A weak negative next to a strong positive is not mixed.
        let (label, _) = document(&[(20, s(0.8, 0.1, 0.1)), (20, s(0.1, 0.45, 0.45))]);
        assert_eq!(label, Label::Positive);
        assert_eq!(document(&[]).0, Label::Neutral);
    }
}

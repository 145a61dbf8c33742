//! PII and entity spans: deterministic recognizers, merging them with the
//! model's spans, and redaction. No HTTP here (that is `api::pii`).
//!
//! All offsets are Unicode scalar values (Rust `char`s) from the start of
//! the text, the unit the API documents.
//!
//! ## Layout
//! - this file — [`Span`], the type names, and [`resolve`]: overlapping
//!   spans from every source become one non-overlapping list.
//! - [`recognizers`] — regular expressions plus validators (Luhn, mod-97,
//!   SSN ranges, IP parsing, calendar dates).
//! - [`redact`] — mask, type placeholder, keyed hash.

pub mod recognizers;
pub mod redact;

use serde::Serialize;

/// Types the deterministic recognizers report. Rampart adds its own
/// (`GIVEN_NAME`, `SURNAME`, `CITY`, …; `EMAIL`, `PHONE` and `URL` are
/// shared).
pub const RULE_TYPES: [&str; 8] = [
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "URL",
    "US_SSN",
    "DATE",
];

/// Types the Rampart tagger reports.
pub const MODEL_TYPES: [&str; 17] = [
    "BANK_ACCOUNT",
    "BUILDING_NUMBER",
    "CITY",
    "DRIVERS_LICENSE",
    "EMAIL",
    "GIVEN_NAME",
    "GOVERNMENT_ID",
    "PASSPORT",
    "PHONE",
    "ROUTING_NUMBER",
    "SECONDARY_ADDRESS",
    "STATE",
    "STREET_NAME",
    "SURNAME",
    "TAX_ID",
    "URL",
    "ZIP_CODE",
];

/// Whether `name` is a type some source can report.
pub fn is_known_type(name: &str) -> bool {
    RULE_TYPES.contains(&name) || MODEL_TYPES.contains(&name)
}

/// One entity in a text.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = Entity, example = json!({"type": "EMAIL", "text": "ana@example.com", "start": 9, "end": 24, "score": 1.0}))]
pub struct Span {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    /// Start, in chars.
    pub start: usize,
    /// End (exclusive), in chars.
    pub end: usize,
    pub score: f32,
}

impl Span {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One non-overlapping list, by start, from the recognizers' spans and the
/// model's, which may overlap.
///
/// Recognizer spans are placed first: each was validated (checksum, parse,
/// calendar) and has exact boundaries, whereas the 4-bit tagger measured
/// on the labelled set labels a valid card number `PHONE` with a higher
/// score, an SSN `TAX_ID`, and takes a sentence's final period into an
/// e-mail address. Then model spans fill in what does not overlap. Within
/// each source the longest span wins, then the higher score, then the
/// earlier one (longest first, so no fragment of a value is left
/// unredacted beside a shorter match).
pub fn resolve(rules: Vec<Span>, model: Vec<Span>) -> Vec<Span> {
    let mut kept: Vec<Span> = Vec::with_capacity(rules.len() + model.len());
    for spans in [rules, model.into_iter().filter(plausible).collect()] {
        let mut spans = spans;
        spans.sort_by(|a, b| {
            b.len()
                .cmp(&a.len())
                .then(b.score.total_cmp(&a.score))
                .then(a.start.cmp(&b.start))
        });
        for span in spans {
            if span.len() > 0 && !kept.iter().any(|k| k.overlaps(&span)) {
                kept.push(span);
            }
        }
    }
    kept.sort_by_key(|s| s.start);
    kept
}

/// Whether a model span of a type the recognizers know could be one: a
/// phone number has 7–15 digits (E.164 allows 15; the tagger calls 16-digit
/// card numbers and SSN fragments phones), an e-mail address has an `@`.
fn plausible(span: &Span) -> bool {
    match span.kind.as_str() {
        "PHONE" => (7..=15).contains(&span.text.chars().filter(char::is_ascii_digit).count()),
        "EMAIL" => span.text.contains('@'),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: &str, start: usize, end: usize, score: f32) -> Span {
        Span {
            kind: kind.into(),
            text: String::new(),
            start,
            end,
            score,
        }
    }

    #[test]
    fn rules_first_then_longest_then_highest_score() {
        let got = resolve(
            vec![span("EMAIL", 5, 9, 0.9), span("DATE", 30, 34, 0.5)],
            vec![
                span("EMAIL", 0, 20, 0.99),
                span("PHONE", 25, 30, 0.6),
                span("BANK_ACCOUNT", 25, 30, 0.8),
                span("SURNAME", 33, 40, 0.99),
                span("GIVEN_NAME", 40, 45, 0.99),
            ],
        );
        let kinds: Vec<_> = got.iter().map(|s| (s.kind.as_str(), s.start)).collect();
        assert_eq!(
            kinds,
            [
                ("EMAIL", 5),
                ("BANK_ACCOUNT", 25),
                ("DATE", 30),
                ("GIVEN_NAME", 40)
            ]
        );
    }

    #[test]
    fn implausible_model_spans_are_dropped() {
        let with_text = |kind: &str, text: &str| Span {
            text: text.into(),
            ..span(kind, 0, text.chars().count(), 0.99)
        };
        assert!(!plausible(&with_text("PHONE", "4111 1111 1111 1112")));
        assert!(!plausible(&with_text("PHONE", "666-12")));
        assert!(plausible(&with_text("PHONE", "+1 415 555 0132")));
        assert!(!plausible(&with_text("EMAIL", "example.com")));
    }
}

//! [`TokenClassifier`]: a BERT token classifier (Rampart: 35 BIO labels for
//! names, contact details, identifiers and addresses) that turns text into
//! [`EntitySpan`]s with Unicode scalar (char) offsets.
//!
//! Long text is handled by windowing, never by an error: the text is
//! tokenized once, cut into windows of at most `max_position_embeddings − 2`
//! tokens (room for `[CLS]` and `[SEP]`) that overlap by [`DEFAULT_OVERLAP`]
//! tokens, and each token takes its label from the window in which it has
//! the most context on both sides. Spans are merged after that, so an entity
//! crossing a window boundary comes out whole.

use super::{Encoder, Network, load_tokenizer, load_weights, read_json, require_files};
use crate::{ModelError, Result};
use candle_core::{D, Device, Module};
use candle_nn::Linear;
use candle_transformers::models::bert::Config;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use tokenizers::Tokenizer;

/// Files [`TokenClassifier::load`] reads from its folder.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Tokens shared by adjacent windows. A quarter of Rampart's window gives
/// every token at least ~64 tokens of context on each side.
pub const DEFAULT_OVERLAP: usize = 128;

/// Tokens whose best label scores below this break a span instead of
/// joining or starting one (the Rampart package's threshold too).
pub const DEFAULT_MIN_SCORE: f32 = 0.5;

/// Windows run through the encoder together; bounds memory for very long
/// text (attention is `batch × heads × 512²` floats).
const WINDOW_BATCH: usize = 4;

/// One entity found in the text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntitySpan {
    /// The entity type without its BIO prefix, e.g. `EMAIL`, `GIVEN_NAME`.
    pub label: String,
    /// The covered text, exactly as in the input.
    pub text: String,
    /// Start, in Unicode scalar values (Rust `char`s) from the input start.
    pub start: usize,
    /// End (exclusive), in chars.
    pub end: usize,
    /// Mean softmax probability of the span's tokens.
    pub score: f32,
}

/// Raw model output for one text, for tests and debugging.
#[derive(Debug, Clone)]
pub struct TokenLogits {
    /// Token ids, `[CLS]` and `[SEP]` included.
    pub ids: Vec<u32>,
    /// `[tokens, labels]` logits.
    pub logits: Vec<Vec<f32>>,
}

/// What `config.json` holds beyond candle's BERT config.
#[derive(Deserialize)]
struct LabelConfig {
    id2label: BTreeMap<String, String>,
}

/// A label, split once at load into what merging needs.
#[derive(Debug, Clone)]
struct Label {
    /// The entity type, `None` for `O`.
    entity: Option<String>,
    /// `B-` prefix: starts a new entity.
    begin: bool,
}

impl Label {
    fn parse(raw: &str) -> Self {
        match raw.split_once('-') {
            Some((prefix, entity)) if prefix.eq_ignore_ascii_case("B") => Self {
                entity: Some(entity.to_string()),
                begin: true,
            },
            Some((prefix, entity)) if prefix.eq_ignore_ascii_case("I") => Self {
                entity: Some(entity.to_string()),
                begin: false,
            },
            // A label without BIO prefix is an entity type of its own,
            // except the conventional outside label.
            _ if raw == "O" => Self {
                entity: None,
                begin: false,
            },
            _ => Self {
                entity: Some(raw.to_string()),
                begin: false,
            },
        }
    }
}

/// A BERT token classifier with its tokenizer and labels.
pub struct TokenClassifier {
    encoder: Encoder,
    classifier: Linear,
    tokenizer: Tokenizer,
    label_names: Vec<String>,
    labels: Vec<Label>,
    cls_id: u32,
    sep_id: u32,
    window: usize,
    overlap: usize,
    min_score: f32,
}

impl TokenClassifier {
    /// Load `model.safetensors`, `config.json` (with `id2label`) and
    /// `tokenizer.json` from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        require_files(dir, &REQUIRED_FILES)?;
        let config_path = dir.join("config.json");
        let config: Config = read_json(&config_path)?;
        let label_config: LabelConfig = read_json(&config_path)?;
        let label_names = label_names(label_config.id2label)?;

        let network = Network::for_device(device);
        let vb = load_weights(&dir.join("model.safetensors"), device, network)?;
        let encoder = Encoder::load(vb.pp("bert"), &config, device, network)?;
        let classifier =
            candle_nn::linear(config.hidden_size, label_names.len(), vb.pp("classifier"))?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        let special = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                ModelError::format("tokenizer.json", format!("has no {token} token"))
            })
        };
        let (cls_id, sep_id) = (special("[CLS]")?, special("[SEP]")?);
        let window = encoder.max_positions.saturating_sub(2);
        if window == 0 {
            return Err(ModelError::format(
                "config.json",
                "max_position_embeddings leaves no room for text",
            ));
        }
        Ok(Self {
            labels: label_names.iter().map(|l| Label::parse(l)).collect(),
            label_names,
            encoder,
            classifier,
            tokenizer,
            cls_id,
            sep_id,
            window,
            overlap: DEFAULT_OVERLAP.min(window / 2),
            min_score: DEFAULT_MIN_SCORE,
        })
    }

    /// Use windows of `tokens` text tokens (at most the model's positions
    /// less two) overlapping by `overlap`. Smaller windows exist for tests.
    pub fn with_window(mut self, tokens: usize, overlap: usize) -> Result<Self> {
        let limit = self.encoder.max_positions.saturating_sub(2);
        if tokens == 0 || tokens > limit || overlap >= tokens {
            return Err(ModelError::InvalidInput(format!(
                "window of {tokens} tokens overlapping by {overlap}: need 0 < overlap < tokens ≤ {limit}"
            )));
        }
        self.window = tokens;
        self.overlap = overlap;
        Ok(self)
    }

    /// Tokens scoring below `score` break spans (default
    /// [`DEFAULT_MIN_SCORE`]).
    pub fn with_min_score(mut self, score: f32) -> Self {
        self.min_score = score;
        self
    }

    /// The label of each logit column, e.g. `B-EMAIL`.
    pub fn labels(&self) -> &[String] {
        &self.label_names
    }

    /// Logits for `text` as one sequence with special tokens. Errors with
    /// [`ModelError::InvalidInput`] when it does not fit the model; [`Self::tag`]
    /// windows instead.
    pub fn logits(&self, text: &str) -> Result<TokenLogits> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let ids = encoding.get_ids().to_vec();
        let logits = self.run(&[&ids])?;
        let logits = logits.into_iter().next().unwrap_or_default();
        Ok(TokenLogits { ids, logits })
    }

    /// Logits `[batch][tokens][labels]` for padded sequences, padding cut.
    fn run(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<Vec<f32>>>> {
        let (hidden, _mask) = self.encoder.forward(sequences)?;
        let logits = self.classifier.forward(&hidden)?.to_vec3::<f32>()?;
        Ok(logits
            .into_iter()
            .zip(sequences)
            .map(|(mut rows, sequence)| {
                rows.truncate(sequence.len());
                rows
            })
            .collect())
    }

    /// Find the entities in `text`. Offsets are in chars of `text`.
    pub fn tag(&self, text: &str) -> Result<Vec<EntitySpan>> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let ids = encoding.get_ids();
        let offsets = encoding.get_offsets();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tokens = self.classify_windowed(ids)?;
        let mut raw = Vec::with_capacity(tokens.len());
        for (&(start, end), (label, score)) in offsets.iter().zip(tokens) {
            // Zero-width tokens (e.g. from removed control characters)
            // carry no text to tag.
            if end > start {
                raw.push(RawToken {
                    start,
                    end,
                    label,
                    score,
                });
            }
        }
        let spans = merge(text, &raw, &self.labels, self.min_score);
        Ok(to_char_spans(text, spans))
    }

    /// The best label and its probability for every token of `ids` (no
    /// special tokens), windowed to fit the model.
    fn classify_windowed(&self, ids: &[u32]) -> Result<Vec<(usize, f32)>> {
        let windows = plan_windows(ids.len(), self.window, self.overlap);
        // (context, label, score) per token; context is the distance to the
        // nearer edge of the window the label came from.
        let mut best: Vec<Option<(usize, usize, f32)>> = vec![None; ids.len()];
        for group in windows.chunks(WINDOW_BATCH) {
            let sequences: Vec<Vec<u32>> = group
                .iter()
                .map(|&(start, end)| {
                    let mut sequence = Vec::with_capacity(end - start + 2);
                    sequence.push(self.cls_id);
                    sequence.extend_from_slice(&ids[start..end]);
                    sequence.push(self.sep_id);
                    sequence
                })
                .collect();
            let refs: Vec<&[u32]> = sequences.iter().map(Vec::as_slice).collect();
            let (hidden, _mask) = self.encoder.forward(&refs)?;
            let logits = self.classifier.forward(&hidden)?;
            let probs = candle_nn::ops::softmax_last_dim(&logits)?;
            let scores = probs.max(D::Minus1)?.to_vec2::<f32>()?;
            let labels = probs.argmax(D::Minus1)?.to_vec2::<u32>()?;
            for ((&(start, end), scores), labels) in group.iter().zip(scores).zip(labels) {
                // Row 0 is [CLS], so token `start + i` is row `i + 1`.
                let rows = scores.iter().zip(&labels).skip(1);
                for (i, (slot, (&score, &label))) in
                    best[start..end].iter_mut().zip(rows).enumerate()
                {
                    let context = i.min(end - start - 1 - i);
                    if slot.is_none_or(|(c, _, _)| context > c) {
                        *slot = Some((context, label as usize, score));
                    }
                }
            }
        }
        best.into_iter()
            .map(|slot| {
                slot.map(|(_, label, score)| (label, score)).ok_or_else(|| {
                    ModelError::InvalidInput("a token fell outside every window".into())
                })
            })
            .collect()
    }
}

/// Overlapping `[start, end)` windows of at most `window` tokens covering
/// `0..len`; each starts `window − overlap` after the previous one.
fn plan_windows(len: usize, window: usize, overlap: usize) -> Vec<(usize, usize)> {
    let step = window.saturating_sub(overlap).max(1);
    let mut windows = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + window).min(len);
        windows.push((start, end));
        if end >= len {
            return windows;
        }
        start += step;
    }
}

/// `id2label` as a vector indexed by label id; ids must be 0..n.
fn label_names(id2label: BTreeMap<String, String>) -> Result<Vec<String>> {
    let mut by_id: Vec<(usize, String)> = id2label
        .into_iter()
        .map(|(id, label)| {
            id.parse::<usize>()
                .map(|id| (id, label))
                .map_err(|_| ModelError::format("config.json", format!("id2label key {id:?}")))
        })
        .collect::<Result<_>>()?;
    by_id.sort_by_key(|(id, _)| *id);
    if by_id.is_empty() || by_id.iter().enumerate().any(|(i, (id, _))| i != *id) {
        return Err(ModelError::format(
            "config.json",
            "id2label must number its labels 0, 1, 2, … without gaps",
        ));
    }
    Ok(by_id.into_iter().map(|(_, label)| label).collect())
}

/// One token's verdict, with byte offsets into the text.
struct RawToken {
    start: usize,
    end: usize,
    label: usize,
    score: f32,
}

/// A span being built, in byte offsets.
struct ByteSpan {
    entity: String,
    start: usize,
    end: usize,
    score_sum: f32,
    tokens: usize,
}

/// Merge per-token labels into spans.
///
/// A token joins the open span when it has the same entity type, only
/// whitespace lies between them, and either it is an `I-` token or it
/// touches the span with no gap at all. The last rule is there because
/// Rampart labels every word piece of an e-mail address or number `B-`
/// (`sarah` `.` `johnson` `@` …); a `B-` after whitespace still starts a new
/// entity (two given names in a row are two names). `O` tokens and tokens
/// below `min_score` close the open span.
fn merge(text: &str, tokens: &[RawToken], labels: &[Label], min_score: f32) -> Vec<ByteSpan> {
    let mut spans: Vec<ByteSpan> = Vec::new();
    let mut open: Option<ByteSpan> = None;
    for token in tokens {
        let entity = labels
            .get(token.label)
            .and_then(|label| label.entity.as_deref().map(|e| (e, label.begin)));
        let Some((entity, begin)) = entity.filter(|_| token.score >= min_score) else {
            spans.extend(open.take());
            continue;
        };
        if let Some(span) = open.as_mut() {
            let gap = text.get(span.end..token.start);
            let joins = span.entity == entity
                && gap.is_some_and(|gap| {
                    gap.chars().all(char::is_whitespace) && (!begin || gap.is_empty())
                });
            if joins {
                span.end = token.end;
                span.score_sum += token.score;
                span.tokens += 1;
                continue;
            }
        }
        spans.extend(open.take());
        open = Some(ByteSpan {
            entity: entity.to_string(),
            start: token.start,
            end: token.end,
            score_sum: token.score,
            tokens: 1,
        });
    }
    spans.extend(open);
    spans
}

/// Turn byte spans into char-offset [`EntitySpan`]s. Spans whose offsets do
/// not fall on char boundaries (which the tokenizer never produces) are
/// dropped rather than sliced wrongly.
fn to_char_spans(text: &str, spans: Vec<ByteSpan>) -> Vec<EntitySpan> {
    let index = crate::text::CharIndex::new(text);
    let char_at = |byte: usize| index.char_at(byte);
    spans
        .into_iter()
        .filter_map(|span| {
            let start = char_at(span.start)?;
            let end = char_at(span.end)?;
            let covered = text.get(span.start..span.end)?;
            Some(EntitySpan {
                label: span.entity,
                text: covered.to_string(),
                start,
                end,
                score: span.score_sum / span.tokens as f32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<Label> {
        ["O", "B-EMAIL", "I-EMAIL", "B-GIVEN_NAME", "I-GIVEN_NAME"]
            .iter()
            .map(|l| Label::parse(l))
            .collect()
    }

    fn token(start: usize, end: usize, label: usize) -> RawToken {
        RawToken {
            start,
            end,
            label,
            score: 0.9,
        }
    }

    #[test]
    fn touching_b_pieces_merge_but_spaced_b_starts_new() {
        let text = "ann bo a@b.c";
        let tokens = [
            token(0, 3, 3),
            token(4, 6, 3),
            token(7, 8, 1),
            token(8, 9, 1),
            token(9, 10, 1),
            token(10, 11, 1),
            token(11, 12, 1),
        ];
        let spans = to_char_spans(text, merge(text, &tokens, &labels(), 0.5));
        let got: Vec<_> = spans
            .iter()
            .map(|s| (s.label.as_str(), s.text.as_str(), s.start, s.end))
            .collect();
        assert_eq!(
            got,
            [
                ("GIVEN_NAME", "ann", 0, 3),
                ("GIVEN_NAME", "bo", 4, 6),
                ("EMAIL", "a@b.c", 7, 12)
            ]
        );
    }

    #[test]
    fn char_offsets_count_scalars_not_bytes() {
        let text = "née 😀 zoë";
        // "zoë" starts at byte 10 (n é e space 😀 space = 1+2+1+1+4+1), char 6.
        let tokens = [token(10, 14, 3)];
        let spans = to_char_spans(text, merge(text, &tokens, &labels(), 0.5));
        assert_eq!((spans[0].start, spans[0].end), (6, 9));
        assert_eq!(spans[0].text, "zoë");
    }

    #[test]
    fn windows_cover_everything_with_overlap() {
        assert_eq!(plan_windows(5, 10, 2), [(0, 5)]);
        assert_eq!(plan_windows(10, 4, 2), [(0, 4), (2, 6), (4, 8), (6, 10)]);
    }
}

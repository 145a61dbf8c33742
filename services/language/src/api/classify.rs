//! `POST /v1/language/classify`: zero-shot classification against labels
//! the caller names.
//!
//! `labels` holds 2..=50 labels, each a name or `{name, description}`;
//! names must be unique. Each label is embedded as
//! `"This text is about {description or name}."` and each document as the
//! normalised mean of its ~800-char pieces, all in one call to the
//! embedder's worker; `similarity` is their cosine. Scores:
//!
//! - single-label (default): `score_i = softmax(similarity / T)_i` with
//!   `T` = [`TEMPERATURE`]; the scores sum to 1.
//! - `multi_label: true`: each label on its own,
//!   `score_i = 1 / (1 + exp(−(similarity_i − c) / s))` with `c` =
//!   [`MULTI_LABEL_CENTER`] and `s` = [`MULTI_LABEL_SCALE`]. A label's
//!   score depends on that label alone (adding or removing other labels
//!   does not change it), and the scores do not sum to 1. The constants are
//!   measured, not principled: with all-MiniLM-L6-v2 and the label template
//!   above, on the 12 documents × 4 topics of `tests/analysis.rs`, every
//!   on-topic cosine was ≥ 0.123 and every off-topic one ≤ 0.114, so `c`
//!   sits between them and `s` makes 0.05 of cosine worth ~0.9 of score.
//!   Other models or label styles need their own constants.
//!
//! Labels come back best first.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::documents::{Batch, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, char_len, model_or_default};
use crate::LanguageService;
use crate::analysis::{CHUNK_CHARS, scoring, sentences};
use crate::error::LanguageError;

/// Fewest labels: one label is not a choice.
const MIN_LABELS: usize = 2;
/// Most labels per request.
const MAX_LABELS: usize = 50;
/// Chars per label name or description.
const MAX_LABEL_CHARS: usize = 200;
/// Softmax temperature of single-label scores: MiniLM's cosines between a
/// document and candidate labels sit within a few tenths of each other, so
/// a temperature of 1 would give nearly uniform scores.
pub const TEMPERATURE: f32 = 0.05;
/// Cosine at which a multi-label score is 0.5.
pub const MULTI_LABEL_CENTER: f32 = 0.12;
/// Cosine distance over which a multi-label score moves from 0.27 to 0.73.
pub const MULTI_LABEL_SCALE: f32 = 0.02;

/// One label as the caller may write it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LabelInput {
    Name(String),
    Described {
        name: String,
        description: Option<String>,
    },
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClassifyRequest {
    pub input: DocumentsInput,
    pub labels: Vec<LabelInput>,
    /// Independent per-label scores instead of a distribution.
    #[serde(default)]
    pub multi_label: bool,
    /// A loaded embeddings model (default: the only one).
    pub model: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Classification {
    id: String,
    labels: Vec<LabelScore>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LabelScore {
    name: String,
    score: f32,
    similarity: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ClassifyResponse {
    object: &'static str,
    model: String,
    multi_label: bool,
    data: Vec<DocumentResult<Classification>>,
    usage: DocumentUsage,
}

/// Classify each document against labels you name (zero-shot).
///
/// Single-label scores are a distribution over the labels (they sum to 1);
/// with `multi_label: true` each label is scored on its own. Labels come
/// back best first.
#[utoipa::path(
    post,
    path = "/v1/language/classify",
    tag = "language",
    operation_id = "classifyText",
    request_body(content = ClassifyRequest, example = json!({"input": "The striker scored twice in the final.", "labels": ["sports", {"name": "food", "description": "cooking and recipes"}, "politics"]})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = ClassifyResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn classify(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<ClassifyRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

/// Validated labels: (name, the text embedded for it).
fn labels(inputs: Vec<LabelInput>) -> Result<Vec<(String, String)>, LanguageError> {
    if !(MIN_LABELS..=MAX_LABELS).contains(&inputs.len()) {
        return Err(LanguageError::invalid(
            "labels",
            format!(
                "labels has {} entries; give between {MIN_LABELS} and {MAX_LABELS}",
                inputs.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    inputs
        .into_iter()
        .map(|input| {
            let (name, description) = match input {
                LabelInput::Name(name) => (name, None),
                LabelInput::Described { name, description } => (name, description),
            };
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(LanguageError::invalid(
                    "labels",
                    "a label name is empty; every label needs a name",
                ));
            }
            let description = description.map(|d| d.trim().to_string());
            if description.as_deref().is_some_and(str::is_empty) {
                return Err(LanguageError::invalid(
                    "labels",
                    format!("label `{name}` has an empty description; omit it or fill it in"),
                ));
            }
            let longest = char_len(&name).max(description.as_deref().map_or(0, char_len));
            if longest > MAX_LABEL_CHARS {
                return Err(LanguageError::invalid(
                    "labels",
                    format!(
                        "label `{name}` is over {MAX_LABEL_CHARS} characters (name or description)"
                    ),
                ));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(LanguageError::invalid(
                    "labels",
                    format!("label `{name}` appears twice; label names must be unique"),
                ));
            }
            let about = description.as_deref().unwrap_or(&name);
            let text = format!("This text is about {about}.");
            Ok((name, text))
        })
        .collect()
}

async fn run(
    service: &LanguageService,
    request: ClassifyRequest,
) -> Result<Response, LanguageError> {
    let labels = labels(request.labels)?;
    let multi_label = request.multi_label;
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(&service.embedders, request.model.as_deref(), "embeddings")?;
    let documents = batch.documents();
    let results = worker
        .run(move |model| -> Result<Vec<Classification>, LanguageError> {
            let label_texts: Vec<&str> = labels.iter().map(|(_, t)| t.as_str()).collect();
            let label_vectors = model.embed(&label_texts)?;
            documents
                .into_iter()
                .map(|document| {
                    let pieces = sentences::chunks(&document.text, CHUNK_CHARS);
                    let texts: Vec<&str> = pieces.iter().map(String::as_str).collect();
                    let doc = scoring::centroid(&model.embed(&texts)?);
                    let similarities: Vec<f32> = label_vectors
                        .iter()
                        .map(|l| scoring::cosine(&doc, l))
                        .collect();
                    let scores: Vec<f32> = if multi_label {
                        similarities
                            .iter()
                            .map(|&s| scoring::sigmoid(s, MULTI_LABEL_CENTER, MULTI_LABEL_SCALE))
                            .collect()
                    } else {
                        scoring::softmax(&similarities, TEMPERATURE)
                    };
                    let mut ranked: Vec<LabelScore> = labels
                        .iter()
                        .zip(scores.iter().zip(&similarities))
                        .map(|((name, _), (&score, &similarity))| LabelScore {
                            name: name.clone(),
                            score,
                            similarity,
                        })
                        .collect();
                    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
                    Ok(Classification {
                        id: document.id,
                        labels: ranked,
                    })
                })
                .collect()
        })
        .await??;
    let (data, usage) = batch.assemble(results);
    let headers = Usage::from(&usage);
    Ok(headers.respond(
        Some(worker.name()),
        ClassifyResponse {
            object: "list",
            model: worker.name().to_string(),
            multi_label,
            data,
            usage,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Result<Vec<(String, String)>, LanguageError> {
        labels(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn label_texts_and_validation() {
        let parsed = parse(serde_json::json!([
            "sports",
            {"name": "food", "description": "cooking and recipes"}
        ]))
        .unwrap();
        assert_eq!(parsed[0].1, "This text is about sports.");
        assert_eq!(
            parsed[1],
            (
                "food".into(),
                "This text is about cooking and recipes.".into()
            )
        );
        let message = |v| parse(v).unwrap_err().to_string();
        assert!(message(serde_json::json!(["a"])).contains("between 2 and 50"));
        assert!(message(serde_json::json!(["a", " A "])).contains("twice"));
        assert!(message(serde_json::json!(["a", " "])).contains("empty"));
        assert!(
            message(serde_json::json!(["a", {"name": "b", "description": ""}])).contains("empty")
        );
        assert!(message(serde_json::json!(vec!["x"; 51])).contains("between"));
    }
}

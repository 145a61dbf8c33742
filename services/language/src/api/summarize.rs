//! `POST /v1/language/summarize`: extractive summaries.
//!
//! Each document is split into sentences ([`crate::analysis::sentences`]),
//! every sentence is embedded (one call to the embedder's worker per
//! request), and each sentence is scored by its centrality: the cosine of
//! its embedding to the document's centroid (the normalised mean of all its
//! sentence embeddings). The best `max_sentences` (default 3, at most
//! [`MAX_SENTENCES`]), or `ratio` (0 < ratio ≤ 1) of the sentences rounded
//! up, come back **in their original order** with their `start`/`end`
//! offsets in **Unicode scalar values (chars)** and their `score`, and
//! `summary` joins them with a space.
//!
//! `mode: "abstractive"` is refused with a 400: it needs SmolLM2, which
//! this service does not serve yet.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::bert::Embedder;

use super::documents::{Batch, Document, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::analysis::{scoring, sentences};
use crate::error::LanguageError;

/// Sentences returned when the request says neither `max_sentences` nor
/// `ratio`.
const DEFAULT_SENTENCES: usize = 3;
/// Most sentences a request may ask for.
pub const MAX_SENTENCES: usize = 100;

/// Kind of summary.
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SummaryMode)]
pub enum Mode {
    #[default]
    Extractive,
    Abstractive,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SummarizeRequest {
    pub input: DocumentsInput,
    /// A loaded embeddings model (default: the only one).
    pub model: Option<String>,
    pub max_sentences: Option<usize>,
    pub ratio: Option<f32>,
    #[serde(default)]
    pub mode: Mode,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Summary {
    id: String,
    summary: String,
    sentences: Vec<SummarySentence>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummarySentence {
    text: String,
    /// Char offset of the sentence in the document.
    start: usize,
    /// Char offset just past it.
    end: usize,
    score: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummarizeResponse {
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<Summary>>,
    usage: DocumentUsage,
}

/// How many sentences a summary keeps.
#[derive(Debug, Clone, Copy)]
enum Length {
    Sentences(usize),
    Ratio(f32),
}

impl Length {
    fn of(self, sentences: usize) -> usize {
        match self {
            Self::Sentences(n) => n.min(sentences),
            // `ratio` is in (0, 1] and counts are small: the product is
            // exact enough, and at least one sentence is kept.
            Self::Ratio(ratio) => {
                let wanted = (ratio * sentences as f32).ceil();
                (wanted.max(1.0) as usize).min(sentences)
            }
        }
    }
}

/// Summarize each document by extracting its most central sentences.
///
/// The best `max_sentences` (default 3) or `ratio` of the sentences, in
/// their original order, with char offsets and scores. `mode:
/// "abstractive"` is refused (400) until a generative model is served.
#[utoipa::path(
    post,
    path = "/v1/language/summarize",
    tag = "language",
    operation_id = "summarizeText",
    request_body(content = SummarizeRequest, example = json!({"input": "First sentence. Second sentence. Third sentence. Fourth one.", "max_sentences": 2})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = SummarizeResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn summarize(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<SummarizeRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

fn length(request: &SummarizeRequest) -> Result<Length, LanguageError> {
    match (request.max_sentences, request.ratio) {
        (Some(_), Some(_)) => Err(LanguageError::invalid(
            "ratio",
            "give max_sentences or ratio, not both",
        )),
        (_, Some(ratio)) if !(ratio > 0.0 && ratio <= 1.0) => Err(LanguageError::invalid(
            "ratio",
            "ratio must be above 0 and at most 1",
        )),
        (_, Some(ratio)) => Ok(Length::Ratio(ratio)),
        (Some(n), None) if !(1..=MAX_SENTENCES).contains(&n) => Err(LanguageError::invalid(
            "max_sentences",
            format!("max_sentences must be between 1 and {MAX_SENTENCES}"),
        )),
        (n, None) => Ok(Length::Sentences(n.unwrap_or(DEFAULT_SENTENCES))),
    }
}

async fn run(
    service: &LanguageService,
    request: SummarizeRequest,
) -> Result<Response, LanguageError> {
    if request.mode == Mode::Abstractive {
        return Err(LanguageError::invalid(
            "mode",
            "abstractive summaries need the smollm2 model, which is not served yet; \
             use mode \"extractive\"",
        ));
    }
    let length = length(&request)?;
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(&service.embedders, request.model.as_deref(), "embeddings")?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            summarize_one(model, document, length)
        })
        .await?;
    let headers = Usage::from(&usage);
    Ok(headers.respond(
        Some(worker.name()),
        SummarizeResponse {
            object: "list",
            model: worker.name().to_string(),
            data,
            usage,
        },
    ))
}

/// On the model's thread: one document's summary.
fn summarize_one(
    model: &mut Embedder,
    document: Document,
    length: Length,
) -> Result<Summary, LanguageError> {
    let all = sentences::split(&document.text);
    let texts: Vec<&str> = all.iter().map(|s| s.text.as_str()).collect();
    let vectors = model.embed(&texts)?;
    let centroid = scoring::centroid(&vectors);
    let scores: Vec<f32> = vectors
        .iter()
        .map(|v| scoring::cosine(v, &centroid))
        .collect();
    let picked = scoring::top_k_in_order(&scores, length.of(all.len()));
    let chosen: Vec<SummarySentence> = picked
        .into_iter()
        .filter_map(|i| {
            let sentence = all.get(i)?;
            Some(SummarySentence {
                text: sentence.text.clone(),
                start: sentence.start,
                end: sentence.end,
                score: scores[i],
            })
        })
        .collect();
    let summary = chosen
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Summary {
        id: document.id,
        summary,
        sentences: chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(Length::Sentences(3).of(2), 2);
        assert_eq!(Length::Ratio(0.3).of(10), 3);
        assert_eq!(Length::Ratio(0.01).of(10), 1);
        assert_eq!(Length::Ratio(1.0).of(7), 7);
        assert_eq!(Length::Ratio(0.5).of(0), 0);
    }
}

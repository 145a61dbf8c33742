//! `POST /v1/language/sentiment`: positive, negative, neutral or mixed, per
//! document and per sentence.
//!
//! Each document is split into sentences ([`crate::analysis::sentences`]);
//! each sentence gets `scores` (`positive`, `neutral`, `negative`, summing
//! to 1) from the sentiment model (a head trained on VADER's human ratings
//! over all-MiniLM-L6-v2, see `stratus_models::sentiment`) and the best of
//! them as its `sentiment`. The document's scores and label follow
//! [`crate::analysis::sentiment`] (length-weighted mean; `mixed` when
//! sentences disagree strongly). Sentence `start`/`end` are offsets in
//! Unicode scalar values (chars). `sentences: false` leaves the sentence
//! list out. English only: the model was trained on English ratings.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::sentiment::SentimentScores;

use super::documents::{Batch, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::analysis::sentences;
use crate::analysis::sentiment::{self as aggregate, Label};
use crate::error::LanguageError;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SentimentRequest {
    pub input: DocumentsInput,
    /// A loaded sentiment model (default: the only one).
    pub model: Option<String>,
    /// Include each sentence's result (default true).
    #[serde(default = "yes")]
    pub sentences: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DocumentSentiment {
    id: String,
    sentiment: Label,
    scores: SentimentScores,
    #[serde(skip_serializing_if = "Option::is_none")]
    sentences: Option<Vec<SentenceSentiment>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SentenceSentiment {
    text: String,
    /// Char offset of the sentence in the document.
    start: usize,
    /// Char offset just past it.
    end: usize,
    sentiment: Label,
    scores: SentimentScores,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SentimentResponse {
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<DocumentSentiment>>,
    usage: DocumentUsage,
}

/// Sentiment of each document and of each of its sentences.
///
/// `sentiment` is `positive`, `negative` or `neutral` (the best of
/// `scores`, which sum to 1), or for a document `mixed` when one of its
/// sentences is clearly positive and another clearly negative. Sentence
/// `start`/`end` are offsets in Unicode scalar values (chars). English only.
#[utoipa::path(
    post,
    path = "/v1/language/sentiment",
    tag = "language",
    operation_id = "analyzeSentiment",
    request_body(content = SentimentRequest, example = json!({"input": ["I love this phone.", {"id": "review-2", "text": "The screen is great. The battery is awful."}]})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = SentimentResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn sentiment(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<SentimentRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

async fn run(
    service: &LanguageService,
    request: SentimentRequest,
) -> Result<Response, LanguageError> {
    let with_sentences = request.sentences;
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(
        &service.sentiment_models,
        request.model.as_deref(),
        "sentiment",
    )?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            let split = sentences::split(&document.text);
            let texts: Vec<&str> = split.iter().map(|s| s.text.as_str()).collect();
            let scores = model.classify(&texts)?;
            let weighted: Vec<(usize, SentimentScores)> = split
                .iter()
                .zip(&scores)
                .map(|(s, scores)| (s.end - s.start, *scores))
                .collect();
            let (label, document_scores) = aggregate::document(&weighted);
            let sentences = with_sentences.then(|| {
                split
                    .into_iter()
                    .zip(scores)
                    .map(|(s, scores)| SentenceSentiment {
                        text: s.text,
                        start: s.start,
                        end: s.end,
                        sentiment: Label::of(&scores),
                        scores,
                    })
                    .collect()
            });
            Ok(DocumentSentiment {
                id: document.id,
                sentiment: label,
                scores: document_scores,
                sentences,
            })
        })
        .await?;
    let headers = Usage::from(&usage);
    let model = worker.name().to_string();
    Ok(headers.respond(
        Some(&model),
        SentimentResponse {
            object: "list",
            model: model.clone(),
            data,
            usage,
        },
    ))
}
